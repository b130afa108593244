/*
 * test_cli.c: the smpmatch command (src/cli/main.c) run as a user and a
 * script would run it: built binary SMP_CLI, stdout captured by tu_run,
 * stderr redirected into a file.
 *
 * Usage tests need only the binary. Tests over real photos read the sample
 * list from samples/truth.csv (column "file"), which is in git: without it
 * they fail. How well the colours match the
 * truth is test_pipeline's business; here it is order, shape and status. Broken photos (empty, random
 * bytes, a truncated sample) are made here in tu_tmpdir().
 */
#include "testutil.h"

#include <dirent.h>
#include <jansson.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "smpmatch.h"

#define MAX_SAMPLES 64

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* ------------------------------------------------------------------ */
/* Usage                                                               */
/* ------------------------------------------------------------------ */

static const char *const long_options[] = {
    "--palette", "--top", "--format", "--metric", "--model", "--hair-roi", "--scalp-roi",
    "--hair-mask", "--scalp-mask", "--white-roi", "--max-pixels", "--jobs", "--report",
    "--quiet", "--verbose", "--version", "--help", "--hair-colour", "--debug-masks",
    "--veil", "--blue-shift", "--fitzpatrick", "--session", "--no-mixes", "--region",
    "--recursive", "--files-from", "--null", "--analysis-size", "--report-format",
};

static void test_help(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(tu_run_cli("--help", &out, &err), 0);
    for (size_t i = 0; i < sizeof long_options / sizeof long_options[0]; i++)
        if (!strstr(out, long_options[i]))
            fail_msg("--help does not mention %s", long_options[i]);
    for (const char *s = "pnfmjqvhr0"; *s; s++) {
        char shortopt[4] = {'-', *s, ',', 0};
        if (!strstr(out, shortopt))
            fail_msg("--help does not mention %s", shortopt);
    }
    assert_non_null(strstr(out, "Usage: smpmatch"));
    assert_non_null(strstr(out, "\n  smpmatch ")); /* an example invocation */
    assert_non_null(strstr(out, "Exit status"));
    assert_string_equal(err, "");
    free(out);
    free(err);

    assert_int_equal(tu_run_cli("-h", &out, NULL), 0);
    assert_non_null(strstr(out, "--palette"));
    free(out);
}

static void test_version(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(tu_run_cli("--version", &out, &err), 0);
    assert_int_equal(strncmp(out, "smpmatch " SMP_VERSION "\n", strlen("smpmatch " SMP_VERSION "\n")), 0);
    assert_non_null(strstr(out, "libjpeg-turbo "));
    assert_non_null(strstr(out, "libpng "));
    assert_non_null(strstr(out, "LittleCMS 2."));
    assert_non_null(strstr(out, "jansson "));
    assert_string_equal(err, "");
    free(out);
    free(err);
}

/* Each of these is a mistake at the command line: exit 2, nothing on
 * stdout, one line on stderr that starts with the program and points at
 * --help. The photo need not exist: usage is checked before any photo. */
static void test_bad_usage(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "--top abc x.jpg",
        "--top 0 x.jpg",
        "-n 5x x.jpg",
        "--hair-roi 1,2,3 x.jpg",
        "--scalp-roi 1,2,3,0 x.jpg",
        "--white-roi a,b,c,d x.jpg",
        "--format xml x.jpg",
        "-f JSONL x.jpg",
        "--metric de2001 x.jpg",
        "--model painted x.jpg",
        "--jobs -1 x.jpg",
        "-j lots x.jpg",
        "--max-pixels 12abc x.jpg",
        "--max-pixels 0 x.jpg",
        "--bogus x.jpg",
        "-x x.jpg",
        "",
        "--top 3",
        "x.jpg --top",
        "--report sheet.txt x.jpg",
        "--report-format tiff x.jpg",
        "--report /nonexistent-folder/ x.jpg y.jpg",
        "--quiet --verbose x.jpg",
        "--hair-roi 1,2,3,4 --hair-mask m.png x.jpg",
        "--scalp-mask m.png --scalp-roi 1,2,3,4 x.jpg",
        "--hair-colour mixed x.jpg",
        "--veil -0.1 x.jpg",
        "--veil 2 x.jpg",
        "--veil nan x.jpg",
        "--blue-shift 0.5 x.jpg",
        "--fitzpatrick VII x.jpg",
        "--fitzpatrick 0 x.jpg",
        "--fitzpatrick light x.jpg",
        "--session second x.jpg",
        "--region 1,2,3,4 x.jpg",
        "--region temples=1,2,3 x.jpg",
        "--region =1,2,3,4 x.jpg",
        "--region a=1,2,3,4 --region a=5,6,7,8 x.jpg",
        "--analysis-size -1 x.jpg",
        "--analysis-size big x.jpg",
        "-0 x.jpg",
        "--hair-colour x.jpg",
        "--debug-masks /no/such/folder x.jpg",
        "--debug-masks '" SMP_SOURCE_DIR "/README.md' x.jpg", /* a file, not a folder */
        "--debug-masks '' x.jpg",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out, *err;
        int rc = tu_run_cli(cases[i], &out, &err);
        if (rc != 2)
            fail_msg("\"%s\": exit %d, wanted 2", cases[i], rc);
        if (out[0])
            fail_msg("\"%s\": printed on stdout: %s", cases[i], out);
        if (count_lines(err) != 1 || strncmp(err, "smpmatch: ", 10) != 0 || !strstr(err, "--help"))
            fail_msg("\"%s\": wanted one line \"smpmatch: ... --help\", got: %s", cases[i], err);
        free(out);
        free(err);
    }
}

/* Sixteen rectangles are allowed (SMP_MAX_ROIS), seventeen are not. */
static void test_too_many_rois(void **state)
{
    (void)state;
    char args[2048] = "";
    for (int i = 0; i <= SMP_MAX_ROIS; i++)
        strcat(args, "--hair-roi 0,0,1,1 ");
    strcat(args, "x.jpg");
    char *err;
    assert_int_equal(tu_run_cli(args, NULL, &err), 2);
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, "hair-roi"));
    free(err);
}

/* An unusable palette is exit 2 with the palette's one-line error. */
static void test_bad_palette(void **state)
{
    (void)state;
    const char *missing = tu_path("no-such-palette.csv");
    char args[2048];
    char *out, *err;
    snprintf(args, sizeof args, "-p '%s' x.jpg", missing);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, "no-such-palette.csv"));
    free(out);
    free(err);

    /* A palette with no name column. */
    const char *broken = tu_path("broken-palette.csv");
    const char text[] = "colour,value\nbrown,12\n";
    tu_write_file(broken, text, sizeof text - 1);
    snprintf(args, sizeof args, "-p '%s' x.jpg", broken);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, "broken-palette.csv"));
    free(out);
    free(err);
}

/* A photo that does not exist is a failed photo (exit 1), not a crash. */
static void test_missing_photo(void **state)
{
    (void)state;
    char *out, *err;
    assert_int_equal(tu_run_cli("no-such-photo.jpg", &out, &err), 1);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, "smpmatch: no-such-photo.jpg"));
    free(out);
    free(err);

    assert_int_equal(tu_run_cli("-f json no-such-photo.jpg", &out, NULL), 1);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "error");
    assert_string_equal(json_string_value(json_object_get(j, "file")), "no-such-photo.jpg");
    json_decref(j);
    free(out);
}

/* ------------------------------------------------------------------ */
/* Real photos (samples/ and broken ones made here)                     */
/* ------------------------------------------------------------------ */

typedef struct samples {
    size_t n;
    char *path[MAX_SAMPLES];
} samples;

/* Splits a CSV line at commas, in place. Only the first column (file) is
 * used, and file names in truth.csv have no commas or quotes. */
static size_t split(char *line, char **fields, size_t max)
{
    size_t n = 0;
    while (n < max) {
        fields[n++] = line;
        char *comma = strchr(line, ',');
        if (!comma)
            break;
        *comma = 0;
        line = comma + 1;
    }
    return n;
}

static int find_col(char **hdr, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(hdr[i], name) == 0)
            return (int)i;
    return -1;
}

/* Reads samples/truth.csv; returns 0 when it is not there yet. */
static int load_samples(samples *s)
{
    memset(s, 0, sizeof *s);
    const char *truth = SMP_SOURCE_DIR "/samples/truth.csv";
    if (access(truth, R_OK) != 0)
        return 0;
    char *text = tu_read_file(truth, NULL);
    char *save = NULL, *hdr_fields[64], *f[64];
    char *line = strtok_r(text, "\r\n", &save);
    while (line && line[0] == '#')
        line = strtok_r(NULL, "\r\n", &save);
    assert_non_null(line);
    size_t nh = split(line, hdr_fields, 64);
    int cf = find_col(hdr_fields, nh, "file");
    assert_true(cf >= 0);
    while ((line = strtok_r(NULL, "\r\n", &save)) && s->n < MAX_SAMPLES) {
        if (line[0] == '#' || !line[0])
            continue;
        size_t nf = split(line, f, 64);
        assert_true((size_t)cf < nf);
        char path[1024];
        snprintf(path, sizeof path, "%s/samples/%s", SMP_SOURCE_DIR, f[cf]);
        if (access(path, R_OK) != 0)
            snprintf(path, sizeof path, "%s/%s", SMP_SOURCE_DIR, f[cf]);
        s->path[s->n++] = strdup(path);
    }
    free(text);
    return s->n > 0;
}

static void free_samples(samples *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->path[i]);
}

#define NEED_SAMPLES(s)                                                                            \
    do {                                                                                           \
        if (!load_samples(s)) {                                                                    \
            fail_msg("samples/truth.csv is missing or empty (build/smp-gen-samples samples)");    \
        }                                                                                          \
    } while (0)

/* " 'a' 'b' 'c'" for a command line; paths here have no single quotes. */
static char *quote_all(char *const *paths, size_t n)
{
    size_t len = 1;
    for (size_t i = 0; i < n; i++)
        len += strlen(paths[i]) + 4;
    char *s = malloc(len);
    assert_non_null(s);
    s[0] = 0;
    for (size_t i = 0; i < n; i++) {
        strcat(s, " '");
        strcat(s, paths[i]);
        strcat(s, "'");
    }
    return s;
}

/* Three broken photos: an empty file, 4 kB of pseudo-random bytes (a fixed
 * LCG, so runs repeat), and the first half of a real sample. */
static void make_broken(const samples *s, char *broken[3])
{
    broken[0] = strdup(tu_path("empty.jpg"));
    tu_write_file(broken[0], "", 0);

    unsigned char noise[4096];
    unsigned x = 12345;
    for (size_t i = 0; i < sizeof noise; i++) {
        x = x * 1103515245u + 12345u; /* the C standard's example rand() */
        noise[i] = (unsigned char)(x >> 16);
    }
    broken[1] = strdup(tu_path("noise.jpg"));
    tu_write_file(broken[1], noise, sizeof noise);

    size_t size;
    char *data = tu_read_file(s->path[0], &size);
    broken[2] = strdup(tu_path("truncated.jpg"));
    tu_write_file(broken[2], data, size / 2);
    free(data);
}

/* A FIFO named like a photo must not hang a batch: it is refused at once
 * and the photo after it is still analysed. (timeout guards the test run.) */
static void test_fifo_does_not_hang(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    const char *fifo = tu_path("pipe.jpg");
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    char cmd[4096], *out;
    snprintf(cmd, sizeof cmd, "timeout 20 %s -f json '%s' '%s' 2>/dev/null", SMP_CLI, fifo, s.path[0]);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_int_equal(count_lines(out), 2);
    assert_non_null(strstr(out, "not a regular file"));
    assert_non_null(strstr(out, "\"status\":\"ok\""));
    free(out);
    unlink(fifo);
    free_samples(&s);
}

static void test_json_over_samples(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    char *list = quote_all(s.path, s.n);
    char args[16384];
    snprintf(args, sizeof args, "-f json%s", list);
    char *out, *err;
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    assert_int_equal(count_lines(out), s.n);
    assert_null(strchr(out, '\x1b')); /* stdout is a pipe: no colour */

    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < s.n; i++, line = strtok_r(NULL, "\n", &save)) {
        assert_non_null(line);
        json_error_t jerr;
        json_t *j = json_loads(line, 0, &jerr);
        if (!j)
            fail_msg("line %zu is not JSON (%s): %s", i + 1, jerr.text, line);
        assert_string_equal(json_string_value(json_object_get(j, "file")), s.path[i]); /* input order */
        assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
        json_t *matches = json_object_get(j, "matches");
        assert_true(json_array_size(matches) >= 1 && json_array_size(matches) <= 5);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(matches, 0), "rank")), 1);
        json_t *lab = json_object_get(json_object_get(j, "hair"), "lab");
        assert_int_equal(json_array_size(lab), 3);
        json_decref(j);
    }
    free(out);
    free(err);
    free(list);
    free_samples(&s);
}

/* Broken photos among good ones: exit 1, every photo reported in input
 * order, the good ones in full. */
static void test_broken_among_good(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    char *broken[3];
    make_broken(&s, broken);
    char *order[6] = {s.path[0], broken[0], s.path[s.n > 1 ? 1 : 0], broken[1], broken[2],
                      s.path[s.n > 2 ? 2 : 0]};
    const int bad[6] = {0, 1, 0, 1, 1, 0};
    /* The cause, in words, of each broken photo's error (make_broken). */
    const char *cause[6] = {NULL, "empty", NULL, "not a JPEG or PNG", "truncated", NULL};
    char *list = quote_all(order, 6);
    char args[16384];

    /* JSON: the error records are on stdout too. */
    snprintf(args, sizeof args, "-f json%s", list);
    char *out, *err;
    assert_int_equal(tu_run_cli(args, &out, &err), 1);
    assert_int_equal(count_lines(out), 6);
    char *save = NULL, *line = strtok_r(out, "\n", &save);
    for (size_t i = 0; i < 6; i++, line = strtok_r(NULL, "\n", &save)) {
        json_t *j = json_loads(line, 0, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "file")), order[i]);
        assert_string_equal(json_string_value(json_object_get(j, "status")), bad[i] ? "error" : "ok");
        if (bad[i]) {
            const char *msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
            assert_non_null(msg);
            assert_non_null(strstr(msg, order[i])); /* the message names the file */
            if (!strstr(msg, cause[i]))
                fail_msg("%s: \"%s\" does not say \"%s\"", order[i], msg, cause[i]);
        }
        json_decref(j);
    }
    free(out);
    free(err);

    /* Text: good photos on stdout, one "smpmatch: <file>..." line per failure
     * on stderr, even with --quiet. */
    snprintf(args, sizeof args, "--quiet%s", list);
    assert_int_equal(tu_run_cli(args, &out, &err), 1);
    assert_int_equal(count_lines(err), 3);
    for (size_t i = 0; i < 6; i++) {
        const char *at = strstr(bad[i] ? err : out, order[i]);
        if (!at)
            fail_msg("%s not reported", order[i]);
    }
    assert_true(strstr(out, order[0]) < strstr(out, order[2]));
    free(out);
    free(err);

    /* CSV: one header, an error row per broken photo. */
    snprintf(args, sizeof args, "-f csv -n 2 -q%s", list);
    assert_int_equal(tu_run_cli(args, &out, &err), 1);
    assert_string_equal(err, ""); /* --quiet: stdout carries the errors */
    size_t headers = 0;
    for (const char *p = out; (p = strstr(p, "file,status,")); p++)
        headers++;
    assert_int_equal(headers, 1);
    free(out);
    free(err);

    for (int i = 0; i < 3; i++)
        free(broken[i]);
    free(list);
    free_samples(&s);
}

/* -j 2 and -j 0 give byte for byte the output of -j 1, in every format. */
static void test_jobs_same_output(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    char *broken[3];
    make_broken(&s, broken);
    char *photos[MAX_SAMPLES + 3];
    size_t n = 0;
    for (size_t i = 0; i < s.n && i < 4; i++) { /* four are enough to interleave */
        photos[n++] = s.path[i];
        if (i < 3)
            photos[n++] = broken[i];
    }
    char *list = quote_all(photos, n);
    static const char *const formats[] = {"text", "json", "csv"};
    for (size_t f = 0; f < 3; f++) {
        char args[16384];
        char *one, *two, *all;
        snprintf(args, sizeof args, "-q -f %s -j 1%s", formats[f], list);
        assert_int_equal(tu_run_cli(args, &one, NULL), 1);
        snprintf(args, sizeof args, "-q -f %s -j 2%s", formats[f], list);
        assert_int_equal(tu_run_cli(args, &two, NULL), 1);
        snprintf(args, sizeof args, "-q -f %s -j 0%s", formats[f], list);
        assert_int_equal(tu_run_cli(args, &all, NULL), 1);
        assert_true(one[0] != 0);
        assert_string_equal(one, two);
        assert_string_equal(one, all);
        free(one);
        free(two);
        free(all);
    }
    for (int i = 0; i < 3; i++)
        free(broken[i]);
    free(list);
    free_samples(&s);
}

/* -p replaces the built-in palette; a second -p adds to it. */
static void test_palettes_replace_then_add(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    const char *p1 = tu_path("p1.csv"), *p2 = tu_path("p2.csv");
    const char t1[] = "name,code,L,a,b\nTestOne,T1,20,1,2\nTestTwo,T2,30,2,3\n";
    const char t2[] = "name,code,L,a,b\nTestThree,T3,40,3,4\n";
    tu_write_file(p1, t1, sizeof t1 - 1);
    tu_write_file(p2, t2, sizeof t2 - 1);
    char args[4096];
    char *out;

    snprintf(args, sizeof args, "-f json -n 10 -p '%s' '%s'", p1, s.path[0]);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    json_t *m = json_object_get(j, "matches");
    assert_int_equal(json_array_size(m), 2);
    for (size_t i = 0; i < 2; i++) {
        const char *name = json_string_value(json_object_get(json_array_get(m, i), "name"));
        assert_true(strcmp(name, "TestOne") == 0 || strcmp(name, "TestTwo") == 0);
    }
    json_decref(j);
    free(out);

    snprintf(args, sizeof args, "-f json -n 10 -p '%s' -p '%s' '%s'", p1, p2, s.path[0]);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    j = json_loads(out, 0, NULL);
    assert_non_null(j);
    m = json_object_get(j, "matches");
    assert_int_equal(json_array_size(m), 3);
    int seen_three = 0;
    for (size_t i = 0; i < 3; i++)
        seen_three |= strcmp(json_string_value(json_object_get(json_array_get(m, i), "name")), "TestThree") == 0;
    assert_true(seen_three);
    json_decref(j);
    free(out);
    free_samples(&s);
}

/* --top limits the list; the text output names the metric. */
static void test_top_and_text(void **state)
{
    (void)state;
    samples s;
    NEED_SAMPLES(&s);
    char args[4096];
    char *out;
    snprintf(args, sizeof args, "-f json -n 2 '%s'", s.path[0]);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    assert_int_equal(json_array_size(json_object_get(j, "matches")), 2);
    json_decref(j);
    free(out);

    snprintf(args, sizeof args, "-m de76 '%s'", s.path[0]);
    assert_int_equal(tu_run_cli(args, &out, NULL), 0);
    assert_non_null(strstr(out, "ΔE76"));
    assert_null(strchr(out, '\x1b'));
    free(out);
    free_samples(&s);
}

/* ------------------------------------------------------------------ */
/* --debug-masks and --hair-colour                                     */
/* ------------------------------------------------------------------ */

/* What a test needs to know of a written PNG: size, channels, how many
 * pixels are not 0, whether every grey pixel is 0 or 255, and the bounding
 * box (x0, y0, x1, y1 inclusive) of the pixels that are not 0. */
typedef struct png_facts {
    int width, height, channels;
    size_t nonzero;
    int binary;
    int box[4];
} png_facts;

static png_facts read_png_facts(const char *path)
{
    png_facts f = {0, 0, 0, 0, 1, {1 << 30, 1 << 30, -1, -1}};
    tu_png r = tu_read_png(path);
    f.width = r.width;
    f.height = r.height;
    f.channels = r.channels;
    for (int y = 0; y < f.height; y++)
        for (int x = 0; x < f.width; x++) {
            const unsigned char *p = r.pixels + ((size_t)y * f.width + x) * (size_t)f.channels;
            if (f.channels == 1 && p[0] != 0 && p[0] != 255)
                f.binary = 0;
            if (p[0] == 0 && (f.channels == 1 || (p[1] == 0 && p[2] == 0)))
                continue;
            f.nonzero++;
            if (x < f.box[0]) f.box[0] = x;
            if (y < f.box[1]) f.box[1] = y;
            if (x > f.box[2]) f.box[2] = x;
            if (y > f.box[3]) f.box[3] = y;
        }
    free(r.pixels);
    return f;
}

static char *in_dir(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* A photo whose displayed size differs from its stored one (EXIF 6), so the
 * masks must come out in displayed pixels: 1024x768 (samples/truth.csv). */
#define ORIENT6 SMP_SOURCE_DIR "/samples/side_lightbrown_orient6.jpg"
/* Its hair rectangle, copied from samples/truth.csv (checked below). */
#define ORIENT6_HAIR_ROI "768,230,215,307"

/* The image.analysed_width/height of a one-line JSON result. */
static void analysed_size(const char *json, int *w, int *h)
{
    json_t *j = json_loads(json, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    json_t *img = json_object_get(j, "image");
    *w = (int)json_integer_value(json_object_get(img, "analysed_width"));
    *h = (int)json_integer_value(json_object_get(img, "analysed_height"));
    assert_int_equal(json_integer_value(json_object_get(img, "width")), 1024);
    assert_int_equal(json_integer_value(json_object_get(img, "height")), 768);
    json_decref(j);
}

/* The three pictures of ORIENT6 in dir, checked against the analysed size;
 * returns the hair mask's facts. */
static png_facts check_three(const char *dir, int aw, int ah)
{
    char *hp = in_dir(dir, "side_lightbrown_orient6.hair.png");
    char *sp = in_dir(dir, "side_lightbrown_orient6.scalp.png");
    char *op = in_dir(dir, "side_lightbrown_orient6.overlay.png");
    png_facts hair = read_png_facts(hp), scalp = read_png_facts(sp), over = read_png_facts(op);
    assert_int_equal(hair.channels, 1);
    assert_int_equal(scalp.channels, 1);
    assert_int_equal(over.channels, 3);
    const png_facts *all[3] = {&hair, &scalp, &over};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(all[i]->width, aw);
        assert_int_equal(all[i]->height, ah);
        assert_true(all[i]->width > all[i]->height); /* displayed, landscape */
    }
    assert_true(hair.binary && scalp.binary);
    assert_true(scalp.nonzero > 0);
    assert_true(over.nonzero > 0);
    /* nothing but the three files: no temporary file left behind */
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int files = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            if (e->d_name[0] == '.')
                fail_msg("temporary file left behind: %s", e->d_name);
            files++;
        }
    closedir(d);
    assert_int_equal(files, 3);
    free(hp), free(sp), free(op);
    return hair;
}

static void test_debug_masks(void **state)
{
    (void)state;
    char *truth = tu_read_file(SMP_SOURCE_DIR "/samples/truth.csv", NULL);
    assert_non_null(strstr(truth, "side_lightbrown_orient6.jpg"));
    assert_non_null(strstr(truth, "\"" ORIENT6_HAIR_ROI "\""));
    free(truth);

    /* A missing folder: exit 2 before any photo, the folder named. */
    char args[4096], *out, *err;
    const char *missing = tu_path("no-masks-here");
    snprintf(args, sizeof args, "--debug-masks '%s' '%s'", missing, ORIENT6);
    assert_int_equal(tu_run_cli(args, &out, &err), 2);
    assert_string_equal(out, "");
    assert_int_equal(count_lines(err), 1);
    assert_non_null(strstr(err, missing));
    free(out), free(err);

    /* Automatic regions: both masks drawn, in displayed pixels. */
    const char *dir = tu_path("masks-auto");
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(args, sizeof args, "-f json --debug-masks '%s' '%s'", dir, ORIENT6);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    int aw, ah;
    analysed_size(out, &aw, &ah);
    if (strstr(out, "debug masks"))
        fail_msg("the pipeline warned about the debug masks: %s", out);
    png_facts hair = check_three(dir, aw, ah);
    assert_true(hair.nonzero > 0);
    free(out), free(err);

    /* A hair rectangle: the hair mask lies inside it (scaled to the analysed
     * size, one pixel of slack for rounding). */
    const char *dir2 = tu_path("masks-roi");
    assert_int_equal(mkdir(dir2, 0755), 0);
    snprintf(args, sizeof args, "-f json --hair-roi " ORIENT6_HAIR_ROI " --debug-masks '%s' '%s'", dir2,
             ORIENT6);
    assert_int_equal(tu_run_cli(args, &out, &err), 0);
    analysed_size(out, &aw, &ah);
    hair = check_three(dir2, aw, ah);
    assert_true(hair.nonzero > 0);
    double k = (double)aw / 1024.0;
    int rx = 768, ry = 230, rw = 215, rh = 307;
    if (hair.box[0] < (int)(rx * k) - 1 || hair.box[1] < (int)(ry * k) - 1 ||
        hair.box[2] > (int)((rx + rw) * k) + 1 || hair.box[3] > (int)((ry + rh) * k) + 1)
        fail_msg("hair mask %d,%d..%d,%d reaches outside the rectangle", hair.box[0], hair.box[1],
                 hair.box[2], hair.box[3]);
    free(out), free(err);
}

/* --hair-colour dominant is the default; all is accepted and still gives a
 * full result. */
static void test_hair_colour(void **state)
{
    (void)state;
    char args[4096], *plain, *dominant, *all;
    snprintf(args, sizeof args, "-f json '%s'", ORIENT6);
    assert_int_equal(tu_run_cli(args, &plain, NULL), 0);
    snprintf(args, sizeof args, "-f json --hair-colour dominant '%s'", ORIENT6);
    assert_int_equal(tu_run_cli(args, &dominant, NULL), 0);
    assert_string_equal(plain, dominant);
    snprintf(args, sizeof args, "-f json --hair-colour all '%s'", ORIENT6);
    assert_int_equal(tu_run_cli(args, &all, NULL), 0);
    json_t *j = json_loads(all, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "status")), "ok");
    assert_int_equal(json_array_size(json_object_get(json_object_get(j, "hair"), "lab")), 3);
    json_decref(j);
    free(plain), free(dominant), free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_too_many_rois),
        cmocka_unit_test(test_bad_palette),
        cmocka_unit_test(test_missing_photo),
        cmocka_unit_test(test_json_over_samples),
        cmocka_unit_test(test_fifo_does_not_hang),
        cmocka_unit_test(test_broken_among_good),
        cmocka_unit_test(test_jobs_same_output),
        cmocka_unit_test(test_palettes_replace_then_add),
        cmocka_unit_test(test_top_and_text),
        cmocka_unit_test(test_debug_masks),
        cmocka_unit_test(test_hair_colour),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
