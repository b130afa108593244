/*
 * module.c: loads the optional parts of the library when a photo needs them
 * (see module.h for why and how).
 *
 * In:  a module name and entry point; for the three decoder doors below, a
 *      photo's bytes.
 * Out: the module's entry point, or one line naming the photo and the
 *      cause; smp_image_decode_heif / _tiff / _webp, which image.c calls
 *      after sniffing, load libsmpmatch-<fmt>.so and call its decoder (or,
 *      in a static build, call the decoder linked in).
 * Not: decoding (image_heif.c, image_tiff.c, image_webp.c), the consult
 *      sheet's door (report.c calls smp_module_open itself).
 */
#define _GNU_SOURCE /* dladdr (glibc, the BSDs and macOS have it too) */

#include "module.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "image.h"
#include "util.h"

#ifdef SMP_USE_MODULES
#include <dlfcn.h>

/* The length of the folder that holds glibc-hwcaps/LEVEL when the first
 * len bytes of path name such a folder (libsmpmatch.so built for a newer
 * CPU, which glibc loads from there: CMakeLists.txt, SMP_HWCAPS), else
 * len: the modules are built once, beside the plain library. */
static size_t above_hwcaps(const char *path, size_t len)
{
    static const char sub[] = "/glibc-hwcaps/";
    size_t level = len;
    while (level > 0 && path[level - 1] != '/')
        level--; /* the start of LEVEL */
    size_t n = sizeof sub - 1;
    if (level < n || level == len || memcmp(path + level - n, sub, n) != 0)
        return len;
    return level - n;
}

int smp_module_dir(char *buf, size_t size)
{
    /* Any function of libsmpmatch.so names the file it came from; this one
     * is as good as any. */
    Dl_info info;
    if (!dladdr((void *)(smp_module_fn)smp_module_dir, &info) || !info.dli_fname)
        return -1;
    const char *slash = strrchr(info.dli_fname, '/');
    /* No slash: the library was found by a bare name, relative to the
     * working folder (LD_LIBRARY_PATH=. or similar). */
    size_t len = slash ? (size_t)(slash - info.dli_fname) : 1;
    const char *dir = slash ? info.dli_fname : ".";
    if (slash)
        len = above_hwcaps(info.dli_fname, len);
    if (slash && len == 0)
        len = 1; /* "/libsmpmatch.so": the root folder */
    if (len >= size)
        return -1;
    memcpy(buf, dir, len);
    buf[len] = '\0';
    return 0;
}

/* dlerror's text, or a word when there is none (it is per thread and
 * cleared by reading, so it is read once, right after the failing call). */
static const char *why(void)
{
    const char *e = dlerror();
    return e ? e : "no reason given";
}

smp_status smp_module_open_in(smp_module *m, const char *dir, const char *name, const char *symbol,
                              const char *subject, const char *need, smp_error *err)
{
    memset(m, 0, sizeof *m);
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/libsmpmatch-%s.so", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: %s libsmpmatch-%s.so, but the folder of libsmpmatch.so has too long a name",
                        subject, need, name);
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        const char *e = why();
        struct stat st;
        /* Missing and present-but-broken call for different fixes
         * (install the package's module, or reinstall it): say which. */
        if (stat(path, &st) != 0 && errno == ENOENT)
            return smp_fail(err, SMP_E_UNSUPPORTED,
                            "%s: %s libsmpmatch-%s.so, which is not installed beside libsmpmatch.so (%s)",
                            subject, need, name, e);
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: %s libsmpmatch-%s.so, which is beside libsmpmatch.so but cannot be loaded (%s)",
                        subject, need, name, e);
    }
    (void)dlerror(); /* dlsym's NULL is only an error when dlerror says so */
    void *p = dlsym(h, symbol);
    if (!p) {
        /* The message first: dlclose frees dlerror's text. */
        smp_fail(err, SMP_E_UNSUPPORTED,
                 "%s: %s libsmpmatch-%s.so, but the one beside libsmpmatch.so is from another "
                 "version of smpmatch (%s)",
                 subject, need, name, why());
        dlclose(h);
        return SMP_E_UNSUPPORTED;
    }
    /* POSIX guarantees dlsym's result converts to a function pointer; C
     * only lets a copy of the bytes say so. */
    _Static_assert(sizeof m->entry == sizeof p, "function and object pointers differ in size");
    memcpy(&m->entry, &p, sizeof p);
    m->handle = h;
    return SMP_OK;
}

smp_status smp_module_open(smp_module *m, const char *name, const char *symbol,
                           const char *subject, const char *need, smp_error *err)
{
    char dir[4096];
    if (smp_module_dir(dir, sizeof dir) != 0) {
        memset(m, 0, sizeof *m);
        return smp_fail(err, SMP_E_UNSUPPORTED,
                        "%s: %s libsmpmatch-%s.so, but the folder of libsmpmatch.so cannot be found",
                        subject, need, name);
    }
    return smp_module_open_in(m, dir, name, symbol, subject, need, err);
}

void smp_module_close(smp_module *m)
{
    if (m->handle)
        dlclose(m->handle);
    memset(m, 0, sizeof *m);
}

/* The decoders' doors: load the module, call its decoder. The photo's
 * image is left empty on failure, as the decoders leave it. */
typedef smp_status smp_decode_fn(const char *name, const unsigned char *data, size_t size,
                                 const smp_load_limits *limits, smp_image *img, smp_error *err);

static smp_status decode_with(const char *module, const char *symbol, const char *need,
                              const char *name, const unsigned char *data, size_t size,
                              const smp_load_limits *limits, smp_image *img, smp_error *err)
{
    memset(img, 0, sizeof *img);
    smp_module m;
    smp_status st = smp_module_open(&m, module, symbol, name, need, err);
    if (st != SMP_OK)
        return st;
    smp_decode_fn *decode = (smp_decode_fn *)m.entry;
    st = decode(name, data, size, limits, img, err);
    smp_module_close(&m);
    return st;
}

#define SMP_DOOR(fmt, need)                                                                     \
    smp_status smp_image_decode_##fmt(const char *name, const unsigned char *data, size_t size, \
                                      const smp_load_limits *limits, smp_image *img,            \
                                      smp_error *err)                                           \
    {                                                                                           \
        return decode_with(#fmt, "smp_module_" #fmt "_decode", need, name, data, size, limits,  \
                           img, err);                                                           \
    }

#else /* !SMP_USE_MODULES: everything is linked in */

int smp_module_dir(char *buf, size_t size)
{
    (void)buf;
    (void)size;
    return -1;
}

#define SMP_DOOR(fmt, need)                                                                     \
    smp_status smp_image_decode_##fmt(const char *name, const unsigned char *data, size_t size, \
                                      const smp_load_limits *limits, smp_image *img,            \
                                      smp_error *err)                                           \
    {                                                                                           \
        return smp_module_##fmt##_decode(name, data, size, limits, img, err);                   \
    }

#endif /* SMP_USE_MODULES */

#ifdef SMP_WITH_HEIF
SMP_DOOR(heif, "HEIC photos need")
#endif
#ifdef SMP_WITH_TIFF
SMP_DOOR(tiff, "TIFF photos need")
#endif
#ifdef SMP_WITH_WEBP
SMP_DOOR(webp, "WebP photos need")
#endif
