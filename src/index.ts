export { type LocalSyncOptions, planLocal, syncLocal } from './api.ts';
export type { DirListing, Entry, Kind, Meta } from './core/entry.ts';
export type { Operation, Precondition } from './core/plan.ts';
export type { Problem } from './core/problem.ts';
export type { Capabilities, Endpoint } from './endpoint/endpoint.ts';
export { LocalEndpoint } from './endpoint/local/local.ts';
export type { OneWayResult, Summary } from './engine/oneway.ts';
export { ConcordError } from './errors.ts';
export type { RunEvent } from './jobs/events.ts';
