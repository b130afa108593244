/*
 * test_module.c: the optional parts are loaded only when a photo needs them
 * (src/module.c, issue 5).
 *
 * What is mapped is a property of the whole process, and a module once
 * loaded stays (RTLD_NODELETE), so every check that loads something runs
 * in a child made by fork() from this process, which itself never analyses
 * a photo: each child starts with only what this program links, which is
 * what a fresh `smpmatch photo.jpg` starts with. The first check looks at
 * that: a libsmpmatch.so linked against libheif, libtiff, libwebp or cairo
 * again would map them before any photo, and every test here fails.
 *
 * In a static build (or SMP_MODULES=OFF) everything is linked in on
 * purpose and the mapping tests skip; the decoding itself is
 * test_formats's and test_report's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "module.h"
#include "smpmatch.h"
#include "testutil.h"

#define CORPUS SMP_SOURCE_DIR "/tests/fuzz/corpus/image/"
#define JPEG_PHOTO SMP_SOURCE_DIR "/samples/temple_brown_srgb.jpg"
#define PNG_PHOTO SMP_SOURCE_DIR "/samples/part_grey_on_dark.png"

/* What each optional part brings in: its module, and its library and (for
 * libheif and cairo) the ones they depend on, as Debian 12 links them. A
 * name is looked for as "/name" in /proc/self/maps. */
static const char *const heif_libs[] = {"libsmpmatch-heif.so", "libheif.so", "libde265.so", NULL};
static const char *const tiff_libs[] = {"libsmpmatch-tiff.so", "libtiff.so", NULL};
static const char *const webp_libs[] = {"libsmpmatch-webp.so", "libwebp.so", "libwebpdemux.so",
                                        NULL};
static const char *const cairo_libs[] = {"libsmpmatch-report.so", "libcairo.so", "libpixman-1.so",
                                         "libfontconfig.so", NULL};

/* Is a file whose name starts with `lib` mapped into this process? */
static int mapped(const char *lib)
{
    size_t n;
    char *maps = tu_read_file("/proc/self/maps", &n);
    char want[128];
    snprintf(want, sizeof want, "/%s", lib);
    int found = strstr(maps, want) != NULL;
    free(maps);
    return found;
}

/* In a child: fails (exit 1, with the reason on stderr) when any of `libs`
 * is (want 0) or is not (want 1) mapped. */
static void expect(const char *const *libs, int want, const char *when)
{
    for (; *libs; libs++)
        if (mapped(*libs) != want) {
            fprintf(stderr, "%s: %s is %s\n", when, *libs, want ? "not mapped" : "mapped");
            _exit(1);
        }
}

/* In a child: analyses `path` (with a sheet written to `report`, when not
 * NULL) and fails unless it succeeded. */
static void analyse(const char *path, const char *report)
{
    smp_palette *pal = NULL;
    smp_error err;
    if (smp_palette_new_default(&pal, &err) != SMP_OK)
        _exit(1);
    smp_options opt;
    smp_options_init(&opt);
    opt.report_path = report;
    smp_result *r = NULL;
    smp_status st = smp_analyse_file(path, pal, &opt, &r);
    if (st != SMP_OK || (report && !r->report_written)) {
        fprintf(stderr, "%s: %s\n", path, r && r->error ? r->error : "no sheet written");
        _exit(1);
    }
    smp_result_free(r);
    smp_palette_free(pal);
}

/* Runs `body` in a child process; returns its exit status (0: passed). */
static int in_child(void (*body)(void))
{
    (void)tu_tmpdir(); /* named after the pid: this process's, not the child's */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        body();
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int skip_without_modules(void)
{
#ifndef SMP_USE_MODULES
    skip(); /* everything is linked in: nothing to test here */
#endif
    return 0;
}

static void nothing_optional(const char *when)
{
    expect(heif_libs, 0, when);
    expect(tiff_libs, 0, when);
    expect(webp_libs, 0, when);
    expect(cairo_libs, 0, when);
}

static void jpeg_and_png(void)
{
    nothing_optional("at start");
    analyse(JPEG_PHOTO, NULL);
    nothing_optional("after a JPEG");
    analyse(PNG_PHOTO, NULL);
    nothing_optional("after a PNG");
}

static void test_jpeg_png_load_nothing_optional(void **state)
{
    (void)state;
    skip_without_modules();
    assert_int_equal(in_child(jpeg_and_png), 0);
}

#ifdef SMP_WITH_HEIF
static void heic(void)
{
    analyse(CORPUS "fmt.heic", NULL);
    expect(heif_libs, 1, "after a HEIC");
    expect(tiff_libs, 0, "after a HEIC");
    expect(cairo_libs, 0, "after a HEIC");
    /* A second photo opens the module again: the dynamic linker's count,
     * and nothing goes wrong with the first one's close. */
    analyse(CORPUS "fmt.heic", NULL);
}
#endif

static void test_heic_loads_libheif(void **state)
{
    (void)state;
    skip_without_modules();
#ifdef SMP_WITH_HEIF
    assert_int_equal(in_child(heic), 0);
#else
    skip();
#endif
}

#ifdef SMP_WITH_TIFF
static void tiff(void)
{
    analyse(CORPUS "fmt_rgb8_lzw.tif", NULL);
    expect(tiff_libs, 1, "after a TIFF");
    expect(heif_libs, 0, "after a TIFF");
    expect(cairo_libs, 0, "after a TIFF");
    /* Not libwebp: Debian's libtiff links it (TIFF's WebP compression). */
}
#endif

static void test_tiff_loads_libtiff(void **state)
{
    (void)state;
    skip_without_modules();
#ifdef SMP_WITH_TIFF
    assert_int_equal(in_child(tiff), 0);
#else
    skip();
#endif
}

#ifdef SMP_WITH_WEBP
static void webp(void)
{
    analyse(CORPUS "fmt_lossy.webp", NULL);
    expect(webp_libs, 1, "after a WebP");
    expect(heif_libs, 0, "after a WebP");
    expect(tiff_libs, 0, "after a WebP");
}
#endif

static void test_webp_loads_libwebp(void **state)
{
    (void)state;
    skip_without_modules();
#ifdef SMP_WITH_WEBP
    assert_int_equal(in_child(webp), 0);
#else
    skip();
#endif
}

static void sheet(void)
{
    analyse(JPEG_PHOTO, tu_path("module_sheet.png"));
    expect(cairo_libs, 1, "after a sheet");
    expect(heif_libs, 0, "after a sheet");
}

static void test_sheet_loads_cairo(void **state)
{
    (void)state;
    skip_without_modules();
    assert_int_equal(in_child(sheet), 0);
    struct stat st;
    assert_int_equal(stat(tu_path("module_sheet.png"), &st), 0);
    assert_true(st.st_size > 1000);
}

/* ------------------------------------------------------------------ */
/* A missing or broken module                                          */
/* ------------------------------------------------------------------ */

#ifdef SMP_USE_MODULES
static void assert_one_line(const smp_error *err, const char *start)
{
    assert_int_equal(err->status, SMP_E_UNSUPPORTED);
    if (strncmp(err->message, start, strlen(start)) != 0)
        fail_msg("got \"%s\", want it to start \"%s\"", err->message, start);
    assert_null(strchr(err->message, '\n'));
    assert_int_equal(err->message[strlen(err->message) - 1], ')');
}
#endif

static void test_missing_module_is_one_line(void **state)
{
    (void)state;
    skip_without_modules();
#ifdef SMP_USE_MODULES
    const char *empty = tu_path("no_modules");
    mkdir(empty, 0755);
    smp_module m = {(void *)1, NULL};
    smp_error err = {0};
    assert_int_equal(smp_module_open_in(&m, empty, "heif", "smp_module_heif_decode", "photo.heic",
                                        "HEIC photos need", &err),
                     SMP_E_UNSUPPORTED);
    assert_null(m.handle);
    assert_one_line(&err, "photo.heic: HEIC photos need libsmpmatch-heif.so, which is not "
                          "installed beside libsmpmatch.so (");
    /* A module that is not a shared object at all (a failed copy). */
    const char *broken = tu_path("broken_modules");
    mkdir(broken, 0755);
    char path[1024];
    snprintf(path, sizeof path, "%s/libsmpmatch-tiff.so", broken);
    tu_write_file(path, "not a library\n", 14);
    assert_int_equal(smp_module_open_in(&m, broken, "tiff", "smp_module_tiff_decode", "scan.tif",
                                        "TIFF photos need", &err),
                     SMP_E_UNSUPPORTED);
    assert_one_line(&err, "scan.tif: TIFF photos need libsmpmatch-tiff.so, which is beside "
                          "libsmpmatch.so but cannot be loaded (");
#else
    skip();
#endif
}

/* The real folder, found from libsmpmatch.so itself: the build folder. */
static void test_module_dir_is_the_library_folder(void **state)
{
    (void)state;
    skip_without_modules();
    char dir[4096];
    assert_int_equal(smp_module_dir(dir, sizeof dir), 0);
    struct stat a, b; /* the same folder, however each path spells it */
    assert_int_equal(stat(dir, &a), 0);
    assert_int_equal(stat(SMP_BUILD_DIR, &b), 0);
    assert_true(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
    /* Too small a buffer is refused, not cut. */
    assert_int_equal(smp_module_dir(dir, 4), -1);
}

#ifdef SMP_USE_MODULES
/* A module from another build, lacking the entry point asked for. */
static void wrong_symbol(void)
{
    char dir[4096];
    smp_module m;
    smp_error err = {0};
    if (smp_module_dir(dir, sizeof dir) != 0 ||
        smp_module_open_in(&m, dir, "report", "smp_module_no_such_entry", "sheet.pdf",
                           "consult sheets need", &err) != SMP_E_UNSUPPORTED ||
        !strstr(err.message, "sheet.pdf: consult sheets need libsmpmatch-report.so, but the one "
                             "beside libsmpmatch.so is from another version of smpmatch (") ||
        m.handle != NULL) {
        fprintf(stderr, "wrong symbol: \"%s\"\n", err.message);
        _exit(1);
    }
}
#endif

static void test_module_without_entry_point(void **state)
{
    (void)state;
    skip_without_modules();
#ifdef SMP_USE_MODULES
    assert_int_equal(in_child(wrong_symbol), 0);
#endif
}

/* The command, run from a copy of the build's library folder that lacks
 * libsmpmatch-tiff.so: the TIFF fails with the line, the JPEG beside it is
 * still analysed, and nothing crashes. */
static void test_cli_without_tiff_module(void **state)
{
    (void)state;
    skip_without_modules();
#ifndef SMP_WITH_TIFF
    skip();
#endif
    const char *lib = tu_path("lib_without_tiff");
    char cmd[4096];
    snprintf(cmd, sizeof cmd,
             "rm -rf '%s' && mkdir -p '%s' && cp -a '%s'/libsmpmatch.so* '%s'/libsmpmatch-*.so '%s' && "
             "rm '%s/libsmpmatch-tiff.so' && cp '%s' '%s/smpmatch'",
             lib, lib, SMP_BUILD_DIR, SMP_BUILD_DIR, lib, lib, SMP_CLI, lib);
    assert_int_equal(tu_run(cmd, NULL), 0);
    /* The build's command finds its library through its RUNPATH; the
     * dynamic linker's --library-path comes first and --inhibit-rpath
     * keeps the build folder out, so the copy's library is the one loaded
     * and the module is looked for beside it. */
    char *out = NULL;
    snprintf(cmd, sizeof cmd,
             "/lib64/ld-linux-x86-64.so.2 --inhibit-rpath '%s/smpmatch' --library-path '%s' "
             "'%s/smpmatch' -q -f json '%s' '%s' 2>'%s/err.txt'; echo \"exit $?\"",
             lib, lib, lib, JPEG_PHOTO, CORPUS "fmt_rgb8_lzw.tif", lib);
    assert_int_equal(tu_run(cmd, &out), 0);
    if (!strstr(out, "exit 1\n"))
        fail_msg("want exit status 1 (one photo failed), got: %s", out);
    const char *want = "fmt_rgb8_lzw.tif: TIFF photos need libsmpmatch-tiff.so, which is not "
                       "installed beside libsmpmatch.so (";
    if (!strstr(out, want))
        fail_msg("no \"%s\" in: %s", want, out);
    /* The JPEG's record is there, and ok. */
    const char *jpeg = strstr(out, "temple_brown_srgb.jpg\",\"status\":\"ok\"");
    assert_non_null(jpeg);
    /* One line per photo: two records and the exit line. */
    size_t lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jpeg_png_load_nothing_optional),
        cmocka_unit_test(test_heic_loads_libheif),
        cmocka_unit_test(test_tiff_loads_libtiff),
        cmocka_unit_test(test_webp_loads_libwebp),
        cmocka_unit_test(test_sheet_loads_cairo),
        cmocka_unit_test(test_missing_module_is_one_line),
        cmocka_unit_test(test_module_dir_is_the_library_folder),
        cmocka_unit_test(test_module_without_entry_point),
        cmocka_unit_test(test_cli_without_tiff_module),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
