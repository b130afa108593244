/*
 * test_batch.c: the command over many photos, as a clinic's script runs it
 * (issue 5): folders with -r, --files-from lists (lines, CRLF, NUL with
 * -0, standard input), a batch of 100 with 10 broken photos, -j 2 against
 * -j 1, Ctrl-C in the middle of a batch, and the progress bar only on a
 * terminal.
 *
 * The photos are small renders-free PNGs made here (a few hundred pixels:
 * the batch mechanics are under test, not the colours), so that 100 of
 * them run in seconds even under AddressSanitizer.
 */
/* posix_openpt, grantpt, unlockpt, ptsname_r (pseudo-terminals) */
#define _GNU_SOURCE
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "encode.h"

/* A 48x32 PNG: dark "strands" (every third column) on skin-coloured
 * ground, shade varied by `k` so that the photos differ. */
static void small_photo(const char *path, int k)
{
    enum { W = 48, H = 32 };
    unsigned char px[W * H * 3];
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned char *p = px + 3 * (y * W + x);
            int hair = x % 3 == 0;
            p[0] = (unsigned char)(hair ? 40 + k % 20 : 200);
            p[1] = (unsigned char)(hair ? 32 + k % 15 : 160);
            p[2] = (unsigned char)(hair ? 28 : 135);
        }
    enc_png_opts o = {.bits = 8};
    assert_int_equal(enc_png(path, NULL, NULL, px, W, H, ENC_PNG_RGB, &o), 0);
}

static char *dir_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static char *make_dir(const char *name)
{
    char *d = strdup(tu_path(name));
    assert_non_null(d);
    if (mkdir(d, 0755) != 0 && errno != EEXIST)
        fail_msg("mkdir %s: %s", d, strerror(errno));
    return d;
}

/* The "file" of each JSON line, in order; fails on a line that is not a
 * whole JSON object. Returns the number of lines. */
static size_t json_files(const char *out, char files[][512], size_t max, size_t *ok)
{
    size_t n = 0;
    *ok = 0;
    const char *p = out;
    while (*p) {
        const char *nl = strchr(p, '\n');
        if (!nl)
            fail_msg("the output ends in half a line: \"%.60s\"", p);
        json_error_t e;
        json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
        if (!j)
            fail_msg("not a JSON line (%s): \"%.60s\"", e.text, p);
        const char *f = json_string_value(json_object_get(j, "file"));
        const char *st = json_string_value(json_object_get(j, "status"));
        assert_non_null(f);
        assert_non_null(st);
        if (n < max)
            snprintf(files[n], 512, "%s", f);
        *ok += strcmp(st, "ok") == 0;
        if (strcmp(st, "error") == 0) {
            const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            assert_non_null(msg);
            assert_non_null(strstr(msg, f)); /* names the file */
        }
        json_decref(j);
        n++;
        p = nl + 1;
    }
    return n;
}

/* -r walks folders in name order and keeps only what is a photo by its
 * bytes (a JPEG named .dat counts, a .txt does not); without -r a folder is
 * an error that says to use -r. */
static void test_recursive(void **state)
{
    (void)state;
    char *top = make_dir("tree");
    char *sub = dir_path(top, "b");
    mkdir(sub, 0755);
    char *p1 = dir_path(top, "a.png"), *p2 = dir_path(sub, "z.png"), *p3 = dir_path(sub, "photo.dat");
    char *txt = dir_path(top, "notes.txt"), *fake = dir_path(sub, "fake.jpg");
    small_photo(p1, 1);
    small_photo(p2, 2);
    small_photo(p3, 3);
    tu_write_file(txt, "not a photo\n", 12);
    tu_write_file(fake, "GIF89a", 6);

    char args[4096], *out, *err;
    snprintf(args, sizeof args, "-r -f json '%s'", top);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    char files[8][512];
    size_t ok;
    assert_int_equal(json_files(out, files, 8, &ok), 3);
    assert_int_equal(ok, 3);
    /* name order, byte-wise: "a.png" < "b" (a folder: photo.dat, z.png) */
    assert_string_equal(files[0], p1);
    assert_string_equal(files[1], p3);
    assert_string_equal(files[2], p2);
    assert_non_null(strstr(err, "3 photos: 3 ok, 0 failed, 2 skipped (not photos)"));
    free(out);
    free(err);

    snprintf(args, sizeof args, "-q -f json '%s'", top);
    assert_int_equal(tu_run_cli(args, &out, NULL), 1);
    assert_non_null(strstr(out, "is a folder: give -r"));
    free(out);

    char *paths[] = {top, sub, p1, p2, p3, txt, fake};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        free(paths[i]);
}

/* -r recognises every format the library knows by content (TIFF, WebP,
 * HEIC ...), not only JPEG and PNG: a damaged TIFF and WebP in a walked
 * folder are reported as failed photos, never skipped as "not photos". */
static void test_recursive_other_formats(void **state)
{
    (void)state;
    char *top = make_dir("tree_formats");
    char *tif = dir_path(top, "scan.tif"), *webp = dir_path(top, "chat.webp");
    char *heic = dir_path(top, "phone.heic"), *txt = dir_path(top, "notes.txt");
    static const unsigned char tiff_head[12] = {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0};
    static const unsigned char webp_head[16] = {'R', 'I', 'F', 'F', 8, 0, 0, 0,
                                                'W', 'E', 'B', 'P', 'V', 'P', '8', ' '};
    static const unsigned char heic_head[24] = {0, 0, 0, 24, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c',
                                                0, 0, 0, 0, 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c'};
    tu_write_file(tif, tiff_head, sizeof tiff_head);
    tu_write_file(webp, webp_head, sizeof webp_head);
    tu_write_file(heic, heic_head, sizeof heic_head);
    tu_write_file(txt, "II is not a photo\n", 18);

    char args[4096], *out, *err;
    snprintf(args, sizeof args, "-r -f json '%s'", top);
    assert_int_equal(tu_run_cli(args, &out, &err), 1);
    assert_non_null(strstr(err, "3 photos: 0 ok, 3 failed, 1 skipped (not photos)"));
    assert_non_null(strstr(err, "scan.tif: "));
    assert_non_null(strstr(err, "chat.webp: "));
    assert_non_null(strstr(err, "phone.heic: "));
    free(out);
    free(err);
    char *paths[] = {top, tif, webp, heic, txt};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        free(paths[i]);
}

/* --files-from: one path per line (a CR before the LF and empty lines are
 * forgiven), NUL-separated with -0, "-" for standard input; order kept. */
static void test_files_from(void **state)
{
    (void)state;
    char *a = strdup(tu_path("list_a.png")), *b = strdup(tu_path("list b.png"));
    small_photo(a, 4);
    small_photo(b, 5);
    char text[2048], args[4096], *out, *err;
    char files[8][512];
    size_t ok;

    snprintf(text, sizeof text, "%s\r\n\n%s\n", b, a);
    const char *list = tu_path("list.txt");
    tu_write_file(list, text, strlen(text));
    snprintf(args, sizeof args, "-q -f json --files-from '%s'", list);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    assert_int_equal(json_files(out, files, 8, &ok), 2);
    assert_string_equal(files[0], b); /* the space in the name is kept */
    assert_string_equal(files[1], a);
    free(out);

    size_t la = strlen(a), lb = strlen(b);
    char nul[2048];
    memcpy(nul, a, la + 1);
    memcpy(nul + la + 1, b, lb + 1);
    const char *list0 = tu_path("list0.bin");
    tu_write_file(list0, nul, la + lb + 2);
    snprintf(args, sizeof args, "-q -f json -0 --files-from - < '%s'", list0);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    assert_int_equal(json_files(out, files, 8, &ok), 2);
    assert_string_equal(files[0], a);
    assert_string_equal(files[1], b);
    free(out);

    /* arguments first, then the list */
    snprintf(args, sizeof args, "-q -f json '%s' --files-from '%s'", a, list);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    assert_int_equal(json_files(out, files, 8, &ok), 3);
    assert_string_equal(files[0], a);
    assert_string_equal(files[1], b);
    free(out);

    /* mistakes: exit 2 before any photo */
    assert_int_equal(tu_run_cli("-f json --files-from /nonexistent/list.txt", &out, &err), 2);
    assert_string_equal(out, "");
    assert_non_null(strstr(err, "/nonexistent/list.txt: no such file"));
    free(out);
    free(err);
    snprintf(args, sizeof args, "-0 '%s'", a);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_non_null(strstr(err, "--files-from"));
    free(out);
    free(err);
    free(a);
    free(b);
}

/* Issue 5: 100 photos of which 10 are broken give 90 results, 10 clear
 * errors, exit 1 and a valid JSON Lines file, in input order; -j 2 prints
 * byte for byte what -j 1 prints. */
static void test_hundred_with_ten_broken(void **state)
{
    (void)state;
    char *dir = make_dir("hundred");
    char text[100 * 600];
    size_t len = 0;
    char names[100][512];
    for (int i = 0; i < 100; i++) {
        snprintf(names[i], sizeof names[i], "%s/p%03d.%s", dir, i, i % 10 == 7 ? "jpg" : "png");
        if (i % 10 != 7)
            small_photo(names[i], i);
        else if (i % 20 == 7)
            tu_write_file(names[i], "", 0); /* empty */
        else
            tu_write_file(names[i], "\xff\xd8\xff\xe0 cut short", 14); /* truncated JPEG */
        len += (size_t)snprintf(text + len, sizeof text - len, "%s\n", names[i]);
    }
    const char *list = tu_path("hundred.txt");
    tu_write_file(list, text, len);

    char args[1024], *one, *two, *err;
    snprintf(args, sizeof args, "-f json -j 1 --files-from '%s'", list);
    assert_int_equal(tu_run_cli(args, &one, &err), 1);
    snprintf(args, sizeof args, "-f json -j 2 --files-from '%s'", list);
    assert_int_equal(tu_run_cli(args, &two, NULL), 1);
    assert_string_equal(one, two);

    static char files[100][512];
    size_t ok;
    assert_int_equal(json_files(one, files, 100, &ok), 100);
    assert_int_equal(ok, 90);
    for (int i = 0; i < 100; i++)
        assert_string_equal(files[i], names[i]);
    assert_non_null(strstr(err, "100 photos: 90 ok, 10 failed"));
    /* one line per failure on stderr, naming the file */
    for (int i = 7; i < 100; i += 10)
        assert_non_null(strstr(err, names[i]));
    free(one);
    free(two);
    free(err);
    free(dir);
}

/* Reads what is there on fd into buf (grows it). Returns bytes read, 0 at
 * end of file. */
static ssize_t drain(int fd, char **buf, size_t *len, size_t *cap)
{
    if (*cap - *len < 4096) {
        *cap = *cap * 2 + 8192;
        *buf = realloc(*buf, *cap);
        assert_non_null(*buf);
    }
    ssize_t got = read(fd, *buf + *len, *cap - *len - 1);
    if (got > 0) {
        *len += (size_t)got;
        (*buf)[*len] = '\0';
    }
    return got;
}

/* Ctrl-C in the middle of a batch: the records already written are whole
 * lines, no record is cut, the summary says "interrupted", exit 130. */
static void test_interrupt(void **state)
{
    (void)state;
    char *dir = make_dir("many");
    enum { N = 400 };
    char text[N * 600];
    size_t tl = 0;
    for (int i = 0; i < 8; i++) {
        char p[512];
        snprintf(p, sizeof p, "%s/m%03d.png", dir, i);
        small_photo(p, i);
    }
    for (int i = 0; i < N; i++) /* the eight again and again: quick to make */
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s/m%03d.png\n", dir, i % 8);
    const char *list = tu_path("many.txt");
    tu_write_file(list, text, tl);
    const char *err_path = tu_path("int_err.txt");

    int out[2];
    assert_int_equal(pipe(out), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(e, STDERR_FILENO);
        close(out[0]);
        execl(SMP_CLI, SMP_CLI, "-f", "json", "-j", "2", "--files-from", list, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (!strchr(buf ? buf : "", '\n') && drain(out[0], &buf, &len, &cap) > 0)
        ;
    assert_non_null(buf);
    kill(pid, SIGINT);
    while (drain(out[0], &buf, &len, &cap) > 0)
        ;
    close(out[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 130);

    static char files[N][512];
    size_t ok;
    size_t lines = json_files(buf, files, N, &ok); /* fails on half a line */
    assert_true(lines >= 1);
    assert_true(lines < N); /* it did stop */
    char *err = tu_read_file(err_path, NULL);
    assert_non_null(strstr(err, "interrupted: 400 photos"));
    assert_non_null(strstr(err, "not analysed"));
    free(err);
    free(buf);
    free(dir);
}

/* Runs SMP_CLI with `args` (NULL-terminated) with stdout to /dev/null and
 * stderr on a new pseudo-terminal; returns everything the terminal got. */
static char *run_on_terminal(char *const args[], int *exit_status)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0)
        return NULL; /* no pseudo-terminals here (a chroot without /dev/pts) */
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char slave[256];
    assert_int_equal(ptsname_r(master, slave, sizeof slave), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setsid();
        int tty = open(slave, O_RDWR);
        int null = open("/dev/null", O_WRONLY);
        if (tty < 0 || null < 0)
            _exit(126);
        dup2(null, STDOUT_FILENO);
        dup2(tty, STDERR_FILENO);
        close(master);
        execv(SMP_CLI, args);
        _exit(127);
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    while (drain(master, &buf, &len, &cap) > 0) /* EIO once the child is gone */
        ;
    close(master);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    *exit_status = WEXITSTATUS(status);
    return buf ? buf : strdup("");
}

/* The progress bar is drawn on a terminal and nowhere else. */
static void test_progress_only_on_a_terminal(void **state)
{
    (void)state;
    char *a = strdup(tu_path("bar_a.png")), *b = strdup(tu_path("bar_b.png")),
         *c = strdup(tu_path("bar_c.png"));
    small_photo(a, 7);
    small_photo(b, 8);
    small_photo(c, 9);

    char args[4096], *out, *err;
    snprintf(args, sizeof args, "-f json '%s' '%s' '%s'", a, b, c);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    assert_null(strchr(err, '\r')); /* stderr is a file: no bar */
    assert_non_null(strstr(err, "3 photos: 3 ok, 0 failed"));
    free(out);
    free(err);

    int status;
    char *bar_args[] = {(char *)SMP_CLI, "-f", "json", a, b, c, NULL};
    char *tty = run_on_terminal(bar_args, &status);
    if (!tty) {
        printf("SKIP: no pseudo-terminal can be opened here: the bar on a terminal is not checked\n");
        free(a), free(b), free(c);
        return;
    }
    assert_int_equal(status, 0);
    assert_non_null(strstr(tty, "3/3"));
    assert_non_null(strstr(tty, "photos/s"));
    assert_non_null(strchr(tty, '\r'));
    assert_non_null(strstr(tty, "3 photos: 3 ok, 0 failed"));
    free(tty);

    /* --quiet: no bar, no summary, even on a terminal */
    char *quiet_args[] = {(char *)SMP_CLI, "-q", "-f", "json", a, b, c, NULL};
    tty = run_on_terminal(quiet_args, &status);
    assert_int_equal(status, 0);
    assert_null(strstr(tty, "photos/s"));
    assert_null(strstr(tty, "3 ok"));
    free(tty);
    free(a);
    free(b);
    free(c);
}

/* --report: one sheet per photo in a folder, named after the photo ("-2"
 * for a second photo of the same name), PDF by default or PNG; one photo
 * to a named file; a missing folder is a usage error before any photo. */
static void test_report_sheets(void **state)
{
    (void)state;
    char *dir = make_dir("sheets");
    char *sub = make_dir("sheets_other");
    char *a = strdup(tu_path("sheet_a.png")), *b = dir_path(sub, "sheet_a.png");
    small_photo(a, 1);
    small_photo(b, 2);
    char args[4096], *out, *err;
    snprintf(args, sizeof args, "-q -f json --report '%s' '%s' '%s'", dir, a, b);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    free(out);
    free(err);
    char *pdf1 = dir_path(dir, "sheet_a.pdf"), *pdf2 = dir_path(dir, "sheet_a-2.pdf");
    size_t n;
    char *bytes = tu_read_file(pdf1, &n);
    assert_true(n > 1000 && memcmp(bytes, "%PDF-", 5) == 0);
    free(bytes);
    bytes = tu_read_file(pdf2, &n);
    assert_true(n > 1000 && memcmp(bytes, "%PDF-", 5) == 0);
    free(bytes);

    snprintf(args, sizeof args, "-q -f json --report-format png --report '%s' '%s' '%s'", dir, a, b);
    assert_int_equal(tu_run_cli(args, NULL, NULL), 0);
    char *png = dir_path(dir, "sheet_a-2.png");
    bytes = tu_read_file(png, &n);
    assert_true(n > 1000 && memcmp(bytes, "\x89PNG", 4) == 0);
    free(bytes);

    const char *one = tu_path("one_sheet.png");
    snprintf(args, sizeof args, "-q --report '%s' '%s'", one, a);
    assert_int_equal(tu_run_cli(args, NULL, NULL), 0);
    bytes = tu_read_file(one, &n);
    assert_true(n > 1000 && memcmp(bytes, "\x89PNG", 4) == 0);
    free(bytes);

    snprintf(args, sizeof args, "--report /nonexistent-folder/s.pdf '%s'", a);
    assert_int_equal(tu_run_cli(args, &out, &err), 1); /* analysed, the sheet failed */
    assert_non_null(strstr(err, "the consult sheet /nonexistent-folder/s.pdf was not written"));
    free(out);
    free(err);

    char *paths[] = {dir, sub, a, b, pdf1, pdf2, png};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        free(paths[i]);
}

/* Outputs never replace a photo (issue 7): a PNG sheet whose name is taken
 * by one of the photos gets "-2"; --report naming the photo itself, and a
 * --debug-masks folder where a mask would land on a photo, are refused
 * before anything is analysed; the photos are byte-for-byte unchanged. */
static void test_outputs_never_replace_a_photo(void **state)
{
    (void)state;
    char *dir = make_dir("keep_photos");
    char *a = dir_path(dir, "client.png"), *b = dir_path(dir, "client.jpg.png");
    char *masked = dir_path(dir, "client.hair.png");
    small_photo(a, 3);
    small_photo(b, 4);
    small_photo(masked, 5);
    size_t na, nm;
    char *before = tu_read_file(a, &na), *before_m = tu_read_file(masked, &nm);

    /* the sheet of client.png, as PNG in its own folder: client-2.png */
    char args[4096], *out, *err;
    snprintf(args, sizeof args, "-q --report-format png --report '%s' '%s' '%s'", dir, a, b);
    assert_int_equal(tu_run_cli(args, NULL, NULL), 0);
    char *sheet = dir_path(dir, "client-2.png");
    size_t n;
    char *bytes = tu_read_file(sheet, &n);
    assert_true(n > 1000 && memcmp(bytes, "\x89PNG", 4) == 0);
    free(bytes);

    /* --report naming the photo */
    snprintf(args, sizeof args, "--report '%s' '%s'", a, a);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_non_null(strstr(err, "that is the photo itself"));
    assert_string_equal(out, "");
    free(out);
    free(err);

    /* --debug-masks where client.hair.png, a photo of the batch, would be
     * the hair mask of client.png */
    snprintf(args, sizeof args, "--debug-masks '%s' '%s' '%s'", dir, a, masked);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_non_null(strstr(err, "would replace one of the photos"));
    assert_string_equal(out, "");
    free(out);
    free(err);

    char *after = tu_read_file(a, &n);
    assert_true(n == na && memcmp(after, before, n) == 0);
    free(after);
    after = tu_read_file(masked, &n);
    assert_true(n == nm && memcmp(after, before_m, n) == 0);
    free(after);
    free(before);
    free(before_m);
    char *paths[] = {dir, a, b, masked, sheet};
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++)
        free(paths[i]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_recursive),
        cmocka_unit_test(test_recursive_other_formats),
        cmocka_unit_test(test_files_from),
        cmocka_unit_test(test_hundred_with_ten_broken),
        cmocka_unit_test(test_interrupt),
        cmocka_unit_test(test_progress_only_on_a_terminal),
        cmocka_unit_test(test_report_sheets),
        cmocka_unit_test(test_outputs_never_replace_a_photo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
