/*
 * testutil.c: helpers shared by the cmocka tests.
 */
#include "testutil.h"

#include <png.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

const char *tu_tmpdir(void)
{
    static char dir[1024];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/tests/tmp-%ld", SMP_BUILD_DIR, (long)getpid());
        char parent[1024];
        snprintf(parent, sizeof parent, "%s/tests", SMP_BUILD_DIR);
        mkdir(parent, 0755);
        if (mkdir(dir, 0755) != 0 && errno != EEXIST)
            fail_msg("cannot create %s", dir);
    }
    return dir;
}

const char *tu_path(const char *name)
{
    static char slots[8][1200];
    static int next;
    char *p = slots[next++ % 8];
    snprintf(p, sizeof slots[0], "%s/%s", tu_tmpdir(), name);
    return p;
}

void tu_write_file(const char *path, const void *data, size_t size)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s", path);
    if (size && fwrite(data, 1, size, f) != size)
        fail_msg("short write to %s", path);
    fclose(f);
}

/* Reads a stream to its end into a malloc'd, NUL-terminated buffer. */
static char *slurp(FILE *f, size_t *size)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    if (!buf)
        fail_msg("out of memory");
    buf[n] = 0;
    if (size)
        *size = n;
    return buf;
}

char *tu_read_file(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot read %s", path);
    char *buf = slurp(f, size);
    fclose(f);
    return buf;
}

int tu_run(const char *cmd, char **out)
{
    FILE *p = popen(cmd, "r");
    if (!p)
        return -1;
    char *buf = slurp(p, NULL);
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int tu_run_cli(const char *args, char **out, char **err)
{
    const char *err_path = tu_path("stderr.txt");
    size_t n = strlen(SMP_CLI) + strlen(args) + strlen(err_path) + 32;
    char *cmd = malloc(n);
    assert_non_null(cmd);
    snprintf(cmd, n, "'%s' %s 2>'%s'", SMP_CLI, args, err_path);
    char *o = NULL;
    int rc = tu_run(cmd, &o);
    free(cmd);
    assert_non_null(o);
    char *e = tu_read_file(err_path, NULL);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return rc;
}

size_t tu_csv_numbers(const char *path, int ncols, double **rows)
{
    char *text = tu_read_file(path, NULL);
    size_t n = 0, cap = 64;
    double *out = malloc(cap * ncols * sizeof *out);
    int header_seen = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '#')
            continue;
        if (!header_seen) {
            header_seen = 1;
            continue;
        }
        if (n == cap) {
            cap *= 2;
            out = realloc(out, cap * ncols * sizeof *out);
        }
        char *p = line;
        for (int c = 0; c < ncols; c++) {
            char *end;
            out[n * ncols + c] = strtod(p, &end);
            if (end == p)
                fail_msg("%s: row %zu has fewer than %d numbers", path, n + 1, ncols);
            p = *end == ',' ? end + 1 : end;
        }
        n++;
    }
    free(text);
    *rows = out;
    return n;
}

tu_png tu_read_png(const char *path)
{
    tu_png r = {0, 0, 0, NULL};
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("%s is not a readable PNG", path);
    png_init_io(png, f);
    png_read_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    r.width = (int)png_get_image_width(png, info);
    r.height = (int)png_get_image_height(png, info);
    assert_int_equal(png_get_bit_depth(png, info), 8);
    int type = png_get_color_type(png, info);
    assert_true(type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_RGB);
    r.channels = type == PNG_COLOR_TYPE_GRAY ? 1 : 3;
    png_bytepp rows = png_get_rows(png, info);
    size_t stride = (size_t)r.width * (size_t)r.channels;
    r.pixels = malloc(stride * (size_t)r.height);
    assert_non_null(r.pixels);
    for (int y = 0; y < r.height; y++)
        memcpy(r.pixels + (size_t)y * stride, rows[y], stride);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return r;
}

const char *const tu_samples[TU_N_SAMPLES] = {
    "crown_auburn_srgb_icc.jpg",     "crown_dark_on_light.jpg",
    "frontal_blond_adobergb.jpg",    "part_dark_on_brown_cast_card.jpg",
    "part_grey_on_dark.png",         "side_lightbrown_orient6.jpg",
    "temple_brown_p3.jpg",           "temple_brown_srgb.jpg",
    "temple_grey_on_tan.jpg",
};

char *tu_sample_json(const smp_palette *pal, const char *file, const smp_options *opt)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/samples/%s", SMP_SOURCE_DIR, file);
    smp_result *r = NULL;
    smp_analyse_file(path, pal, opt, &r);
    assert_non_null(r);
    assert_int_equal(r->status, SMP_OK);
    char *json = smp_result_to_json(r);
    assert_non_null(json);
    smp_result_free(r);
    return json;
}
