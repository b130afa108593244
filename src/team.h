/*
 * team.h: a photo's second thread (private).
 *
 * In:  a pass over the pixels written as fn(arg, part) for part 0 and 1,
 *      each doing its own share (smp_part_range) and writing only its own
 *      outputs (per-part sums, counts, rows).
 * Out: both parts done, part 1 on the team's helper thread while the
 *      caller does part 0, or both on the caller when there is no team.
 *      Or one job beside the caller's (smp_team_start, smp_team_wait).
 * Not: a pool, a queue or a scheduler. The work is always cut into the
 *      same SMP_PARTS parts and their sums are added in part order, so a
 *      result does not depend on whether a team ran it (smp_options.threads).
 *
 * Work on the helper may take buffers from the photo's workspace (which
 * has a lock for it); it never reports, and never uses the team itself
 * (a split from the helper would wait for the helper).
 */
#ifndef SMP_TEAM_H
#define SMP_TEAM_H

#include <stddef.h>

#define SMP_PARTS 2

typedef struct smp_team smp_team;
typedef void (*smp_part_fn)(void *arg, int part);

/* A helper thread for one photo; NULL when threads < 2 or it could not be
 * started (then every split runs on the caller: same results, slower).
 * The helper may run on the caller's CPUs less the one the caller is on
 * (team.c, keep_apart). */
smp_team *smp_team_new(int threads);
void smp_team_free(smp_team *t);

/* Runs fn(arg, 0) and fn(arg, 1) and returns when both are done. */
void smp_team_split(smp_team *t, smp_part_fn fn, void *arg);

/* Work beside the caller's: fn(arg, 1) starts on the helper (after what it
 * was given before) and smp_team_wait returns when it is done. Without a
 * team it runs at once, on the caller. Until the wait, the caller must not
 * touch what fn writes. */
void smp_team_start(smp_team *t, smp_part_fn fn, void *arg);
void smp_team_wait(smp_team *t);

/* When the helper has no more to do for the photo: it finishes what it was
 * given and leaves at once, while the caller goes on (waking a helper that
 * sleeps, and waiting for it to leave, cost about half a millisecond at
 * smp_team_free on our VM). Splits and jobs after this run on the caller,
 * as without a team. smp_team_free is still needed. */
void smp_team_retire(smp_team *t);

/* A short wait for the other thread inside a watching loop (the x86
 * pause hint; nothing elsewhere). */
static inline void smp_cpu_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* Part `part`'s share of n items: [*lo, *hi), the first half to part 0. */
static inline void smp_part_range(size_t n, int part, size_t *lo, size_t *hi)
{
    size_t mid = n / 2;
    *lo = part ? mid : 0;
    *hi = part ? n : mid;
}

#endif
