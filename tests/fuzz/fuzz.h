/*
 * fuzz.h: the libFuzzer entry points every tests/fuzz/fuzz_<name>.c defines.
 *
 * Each target is built twice: with clang's -fsanitize=fuzzer as
 * smp-fuzz-<name> (-DSMP_FUZZ=ON), and in every test build with replay.c as
 * smp-fuzz-replay-<name>, which ctest runs over the target's corpus and
 * regressions (fuzz_replay_<name>). A target returns 0 and stops the process
 * (FUZZ_CHECK: abort) when the library breaks a promise of its headers, so
 * that both libFuzzer and ctest report it.
 */
#ifndef SMP_FUZZ_H
#define SMP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A broken promise: say which and abort (libFuzzer keeps the input as a
 * crash; the replay test fails). Not assert(): it must hold in release
 * builds too. */
#define FUZZ_CHECK(cond)                                                                       \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

#endif /* SMP_FUZZ_H */
