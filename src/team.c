/*
 * team.c: a photo's second thread (see team.h).
 *
 * One helper thread per photo. Between jobs it first watches for the next
 * one for about a tenth of a millisecond, then sleeps on a condition
 * variable; the caller waiting for a part does the same. A photo has about
 * two dozen splits, often a fraction of a millisecond apart: sleeping at
 * once cost 30-40 microseconds a split on our VM (the wake-up crosses to
 * the other virtual CPU), watching costs a few.
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include "team.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

/* How many times a side looks before it sleeps: about 0.1 ms. */
#define SPINS 4000

struct smp_team {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    smp_part_fn fn; /* written before `given` moves on, read after; NULL: leave */
    void *arg;
    atomic_ulong given, finished; /* jobs handed to the helper, and done by it */
    int quit;                     /* under lock */
    int retired;                  /* the caller's: smp_team_retire was called */
    int helper_asleep, caller_asleep; /* under lock: who needs a signal */
};

/* Watches *counter until it is no longer `was`; 1 when it moved. */
static int watch(atomic_ulong *counter, unsigned long was)
{
    for (int i = 0; i < SPINS; i++) {
        if (atomic_load_explicit(counter, memory_order_acquire) != was)
            return 1;
        smp_cpu_pause();
    }
    return 0;
}

static void *helper(void *p)
{
    smp_team *t = p;
#ifdef __GLIBC__
    pthread_setname_np(pthread_self(), "smp-helper"); /* for top and perf; failure changes nothing */
#endif
    unsigned long seen = 0;
    for (;;) {
        if (!watch(&t->given, seen)) {
            pthread_mutex_lock(&t->lock);
            t->helper_asleep = 1;
            while (atomic_load(&t->given) == seen && !t->quit)
                pthread_cond_wait(&t->go, &t->lock);
            t->helper_asleep = 0;
            int stop = atomic_load(&t->given) == seen; /* quit, nothing left to do */
            pthread_mutex_unlock(&t->lock);
            if (stop)
                return NULL;
        }
        seen = atomic_load_explicit(&t->given, memory_order_acquire);
        if (!t->fn)
            return NULL; /* smp_team_retire */
        t->fn(t->arg, 1);
        pthread_mutex_lock(&t->lock);
        atomic_store_explicit(&t->finished, seen, memory_order_release);
        if (t->caller_asleep)
            pthread_cond_signal(&t->done);
        pthread_mutex_unlock(&t->lock);
    }
}

/* The helper runs on the CPUs the caller may use, less the one the caller
 * is on now (when that leaves any). Without it, Linux put the helper on the
 * caller's CPU now and then while the other stood idle: woken by the
 * caller (a row batch, the end of a wait on memory that khugepaged held),
 * it was placed beside its waker, and the two took turns for 3-4 ms, a
 * scheduler tick, until a balance parted them (seen with perf sched on
 * our 2-CPU VM: the decoder held up 4 ms in a third of the runs). The
 * caller is not pinned: if it moves, the scheduler takes it away from a
 * helper that cannot move. Failure changes nothing but the speed. */
static void keep_apart(pthread_t helper_thread)
{
#if defined(__linux__) && defined(CPU_COUNT)
    cpu_set_t cpus;
    int here = sched_getcpu();
    if (here < 0 || sched_getaffinity(0, sizeof cpus, &cpus) != 0 || !CPU_ISSET(here, &cpus) ||
        CPU_COUNT(&cpus) < 2)
        return;
    CPU_CLR(here, &cpus);
    pthread_setaffinity_np(helper_thread, sizeof cpus, &cpus);
#else
    (void)helper_thread;
#endif
}

smp_team *smp_team_new(int threads)
{
    if (threads < 2)
        return NULL;
    smp_team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->given, 0);
    atomic_init(&t->finished, 0);
    if (pthread_mutex_init(&t->lock, NULL) != 0) {
        free(t);
        return NULL;
    }
    if (pthread_cond_init(&t->go, NULL) != 0)
        goto no_go;
    if (pthread_cond_init(&t->done, NULL) != 0)
        goto no_done;
    if (pthread_create(&t->thread, NULL, helper, t) != 0)
        goto no_thread;
    keep_apart(t->thread);
    return t;

no_thread:
    pthread_cond_destroy(&t->done);
no_done:
    pthread_cond_destroy(&t->go);
no_go:
    pthread_mutex_destroy(&t->lock);
    free(t);
    return NULL;
}

void smp_team_free(smp_team *t)
{
    if (!t)
        return;
    smp_team_wait(t);
    pthread_mutex_lock(&t->lock);
    t->quit = 1; /* a retired helper has left already, or is leaving */
    pthread_cond_signal(&t->go);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->done);
    pthread_cond_destroy(&t->go);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

void smp_team_wait(smp_team *t)
{
    if (!t || t->retired)
        return;
    unsigned long want = atomic_load_explicit(&t->given, memory_order_relaxed);
    if (watch(&t->finished, want - 1) && atomic_load_explicit(&t->finished, memory_order_acquire) == want)
        return;
    pthread_mutex_lock(&t->lock);
    t->caller_asleep = 1;
    while (atomic_load(&t->finished) != want)
        pthread_cond_wait(&t->done, &t->lock);
    t->caller_asleep = 0;
    pthread_mutex_unlock(&t->lock);
}

/* Hands fn to the helper (NULL: leave). */
static void give(smp_team *t, smp_part_fn fn, void *arg)
{
    smp_team_wait(t); /* one job at a time */
    t->fn = fn;
    t->arg = arg;
    pthread_mutex_lock(&t->lock);
    atomic_store_explicit(&t->given, atomic_load(&t->given) + 1, memory_order_release);
    if (t->helper_asleep)
        pthread_cond_signal(&t->go);
    pthread_mutex_unlock(&t->lock);
}

void smp_team_start(smp_team *t, smp_part_fn fn, void *arg)
{
    if (!t || t->retired) {
        fn(arg, 1);
        return;
    }
    give(t, fn, arg);
}

void smp_team_retire(smp_team *t)
{
    if (!t || t->retired)
        return;
    give(t, NULL, NULL);
    t->retired = 1;
}

void smp_team_split(smp_team *t, smp_part_fn fn, void *arg)
{
    if (!t || t->retired) {
        fn(arg, 0);
        fn(arg, 1);
        return;
    }
    smp_team_start(t, fn, arg);
    fn(arg, 0);
    smp_team_wait(t);
}
