// The floor of a no-op: how long the kernel takes to stat every entry of the trees named, one
// statx per entry on one core, then the same through io_uring (IORING_OP_STATX in batches, which
// the kernel runs on its own worker threads), which saves the system-call entry and return.
// A no-op sync stats every entry of both roots (issue 3 asks for it); this says what that costs
// here before any of Concord's own work. Linux only.
//
//   cc -O2 -o /tmp/stat-floor bench/stat-floor.c && /tmp/stat-floor SRC DST
#define _GNU_SOURCE
#include <fcntl.h>
#include <ftw.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char **paths;
static size_t n, cap;

static int collect(const char *p, const struct stat *s, int type, struct FTW *f) {
  (void)s, (void)type, (void)f;
  if (n == cap) {
    cap = cap ? 2 * cap : 4096;
    paths = realloc(paths, cap * sizeof *paths);
    if (!paths) exit(1);
  }
  paths[n++] = strdup(p);
  return 0;
}

static double wall(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

// CPU of the whole process (io_uring's workers are threads of it).
static double cpu(void) {
  struct rusage r;
  getrusage(RUSAGE_SELF, &r);
  return r.ru_utime.tv_sec + r.ru_stime.tv_sec + (r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

static void one_by_one(void) {
  struct statx sx;
  double w = wall(), c = cpu();
  for (size_t i = 0; i < n; i++)
    statx(AT_FDCWD, paths[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
  printf("statx one by one: %.0f ms wall, %.0f ms CPU\n", (wall() - w) * 1e3, (cpu() - c) * 1e3);
}

static void batched(unsigned depth) {
  struct io_uring_params p;
  memset(&p, 0, sizeof p);
  int fd = (int)syscall(__NR_io_uring_setup, depth, &p);
  if (fd < 0) {
    perror("io_uring_setup");
    return;
  }
  char *sq = mmap(0, p.sq_off.array + p.sq_entries * sizeof(unsigned), PROT_READ | PROT_WRITE,
                  MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQ_RING);
  char *cq = mmap(0, p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe),
                  PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_CQ_RING);
  struct io_uring_sqe *sqes = mmap(0, p.sq_entries * sizeof *sqes, PROT_READ | PROT_WRITE,
                                   MAP_SHARED | MAP_POPULATE, fd, IORING_OFF_SQES);
  if (sq == MAP_FAILED || cq == MAP_FAILED || sqes == MAP_FAILED) {
    perror("mmap");
    return;
  }
  unsigned *sq_tail = (unsigned *)(sq + p.sq_off.tail);
  unsigned *sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
  unsigned *sq_array = (unsigned *)(sq + p.sq_off.array);
  unsigned *cq_head = (unsigned *)(cq + p.cq_off.head), *cq_tail = (unsigned *)(cq + p.cq_off.tail);
  struct statx *out = malloc(sizeof *out * p.sq_entries);
  double w = wall(), c = cpu();
  size_t sent = 0, done = 0;
  while (done < n) {
    unsigned tail = *sq_tail, batch = 0;
    for (; sent < n && sent - done < p.sq_entries; sent++, batch++, tail++) {
      unsigned at = tail & *sq_mask;
      struct io_uring_sqe *e = &sqes[at];
      memset(e, 0, sizeof *e);
      e->opcode = IORING_OP_STATX;
      e->fd = AT_FDCWD;
      e->addr = (unsigned long)paths[sent];
      e->len = STATX_BASIC_STATS;
      e->statx_flags = AT_SYMLINK_NOFOLLOW;
      e->off = (unsigned long)&out[sent % p.sq_entries];
      sq_array[at] = at;
    }
    __atomic_store_n(sq_tail, tail, __ATOMIC_RELEASE);
    if (syscall(__NR_io_uring_enter, fd, batch, 1, IORING_ENTER_GETEVENTS, NULL, 0) < 0) {
      perror("io_uring_enter");
      return;
    }
    unsigned head = *cq_head, end = __atomic_load_n(cq_tail, __ATOMIC_ACQUIRE);
    done += end - head;
    __atomic_store_n(cq_head, end, __ATOMIC_RELEASE);
  }
  printf("statx through io_uring (depth %u): %.0f ms wall, %.0f ms CPU\n", depth,
         (wall() - w) * 1e3, (cpu() - c) * 1e3);
  close(fd);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: stat-floor DIR...\n");
    return 2;
  }
  for (int i = 1; i < argc; i++) nftw(argv[i], collect, 64, FTW_PHYS);
  printf("%zu entries; %ld cores\n", n, sysconf(_SC_NPROCESSORS_ONLN));
  for (int round = 0; round < 2; round++) { // the first round warms the caches
    one_by_one();
    batched(1024);
  }
  return 0;
}
