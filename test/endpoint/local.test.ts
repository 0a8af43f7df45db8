import { LocalEndpoint } from '../../src/endpoint/local/local.ts';
import { WorkerPool } from '../../src/endpoint/local/pool.ts';
import { runEndpointContract } from './contract.ts';

runEndpointContract('local', (root, trashDir) => new LocalEndpoint({ root, trashDir }));

// Where the native lister was not built: JavaScript listings, a walker thread per root.
runEndpointContract(
  'local, JavaScript listing',
  (root, trashDir) => new LocalEndpoint({ root, trashDir, native: false }),
);

// The same promises hold when copies go through the worker pool.
const pool = new WorkerPool(2);
runEndpointContract(
  'local with a worker pool',
  (root, trashDir) => new LocalEndpoint({ root, trashDir, pool, copiesBeforePool: 0 }),
);
