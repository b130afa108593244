/*
 * module.h: the parts of the library that are loaded only when a photo
 * needs them (private).
 *
 * In:  a module name ("heif", "tiff", "webp", "report") and the name of
 *      its entry point.
 * Out: the entry point of libsmpmatch-<name>.so, found in the folder that
 *      libsmpmatch.so itself was loaded from, ready to call; or one line
 *      in the caller's smp_error naming the photo (or sheet) and the cause.
 * Not: any search path of its own (no LD_LIBRARY_PATH, no environment
 *      variable: a module is always the one installed beside the library
 *      it belongs to), any cache (see below).
 *
 * Why. libheif (with libde265, x265, aom, dav1d), libtiff, libwebp and
 * cairo (with fontconfig, freetype, pixman, glib) cost a program that
 * links them about 18 ms of start-up on our 2-core machine (issue 5: 5.9 ms
 * for the core libraries, 24.0 ms with all of them), whether or not it
 * ever reads a HEIC or draws a sheet. In a shared build (CMake
 * BUILD_SHARED_LIBS and SMP_MODULES, both on by default) the three
 * decoders and the sheet's drawing are MODULE libraries beside
 * libsmpmatch.so, and libsmpmatch.so and the command link none of those
 * libraries: a JPEG or PNG run never maps them. A static build, or
 * -DSMP_MODULES=OFF, links everything in and calls it directly (the
 * wrappers below then compile to a direct call; SMP_USE_MODULES is
 * undefined).
 *
 * No state of ours. A module is opened with RTLD_NOW | RTLD_LOCAL |
 * RTLD_NODELETE and closed again after each call: NODELETE keeps it
 * mapped, so the next photo's dlopen is the dynamic linker's reference
 * count, not a second load, and nothing of it is kept in a variable of
 * ours. dlopen, dlsym and dlerror (per thread in glibc) are thread-safe, so
 * photos on several threads (-j 2) may load a module at the same moment.
 */
#ifndef SMP_MODULE_H
#define SMP_MODULE_H

#include "smpmatch.h"

/* An entry point as dlsym found it; the caller casts it to its own
 * function type (a cast between function pointer types is defined, unlike
 * one from dlsym's void *). */
typedef void (*smp_module_fn)(void);

typedef struct smp_module {
    void *handle;       /* from dlopen; NULL when not open */
    smp_module_fn entry;
} smp_module;

/* Opens libsmpmatch-<name>.so from the folder of libsmpmatch.so and finds
 * `symbol` in it. On failure *m is empty and err holds one line:
 * "<subject>: <need> libsmpmatch-<name>.so, which <cause> (<dlerror>)",
 * e.g. "photo.heic: HEIC photos need libsmpmatch-heif.so, which is not
 * installed beside libsmpmatch.so (...)"; status SMP_E_UNSUPPORTED. */
smp_status smp_module_open(smp_module *m, const char *name, const char *symbol,
                           const char *subject, const char *need, smp_error *err);

/* The same from folder `dir` (tests point it at an empty or a broken
 * folder; the library itself only calls smp_module_open). */
smp_status smp_module_open_in(smp_module *m, const char *dir, const char *name, const char *symbol,
                              const char *subject, const char *need, smp_error *err);

/* Drops this call's reference (the module stays mapped: NODELETE) and
 * empties *m. Accepts an empty *m. */
void smp_module_close(smp_module *m);

/* The folder libsmpmatch.so was loaded from, into buf (size bytes): 0, or
 * -1 when it cannot be told (a static build linked into a program, or a
 * name longer than buf). */
int smp_module_dir(char *buf, size_t size);

#endif /* SMP_MODULE_H */
