/*
 * team.c: a photo's second thread (see team.h).
 *
 * One helper thread per photo, parked on a condition variable between
 * splits. A split costs a wake-up (tens of microseconds on our VM), so
 * only passes of a millisecond or more are split.
 */
#include "team.h"

#include <pthread.h>
#include <stdlib.h>

struct smp_team {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t go, done;
    smp_part_fn fn;
    void *arg;
    unsigned long given, finished; /* splits handed to the helper, and done by it */
    int quit;
};

static void *helper(void *p)
{
    smp_team *t = p;
    unsigned long seen = 0;
    pthread_mutex_lock(&t->lock);
    for (;;) {
        while (t->given == seen && !t->quit)
            pthread_cond_wait(&t->go, &t->lock);
        if (t->given == seen)
            break; /* quit, nothing left to do */
        seen = t->given;
        smp_part_fn fn = t->fn;
        void *arg = t->arg;
        pthread_mutex_unlock(&t->lock);
        fn(arg, 1);
        pthread_mutex_lock(&t->lock);
        t->finished = seen;
        pthread_cond_signal(&t->done);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

smp_team *smp_team_new(int threads)
{
    if (threads < 2)
        return NULL;
    smp_team *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
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
    pthread_mutex_lock(&t->lock);
    t->quit = 1;
    pthread_cond_signal(&t->go);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->done);
    pthread_cond_destroy(&t->go);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

/* Waits until the helper has done all it was given; lock held. */
static void wait_idle(smp_team *t)
{
    while (t->finished != t->given)
        pthread_cond_wait(&t->done, &t->lock);
}

void smp_team_start(smp_team *t, smp_part_fn fn, void *arg)
{
    if (!t) {
        fn(arg, 1);
        return;
    }
    pthread_mutex_lock(&t->lock);
    wait_idle(t); /* one job at a time */
    t->fn = fn;
    t->arg = arg;
    t->given++;
    pthread_cond_signal(&t->go);
    pthread_mutex_unlock(&t->lock);
}

void smp_team_wait(smp_team *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    wait_idle(t);
    pthread_mutex_unlock(&t->lock);
}

void smp_team_split(smp_team *t, smp_part_fn fn, void *arg)
{
    if (!t) {
        fn(arg, 0);
        fn(arg, 1);
        return;
    }
    smp_team_start(t, fn, arg);
    fn(arg, 0);
    smp_team_wait(t);
}
