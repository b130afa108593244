/*
 * gen_samples.c: renders the sample consult photos in samples/ with their
 * truth table samples/truth.csv, and the labelled evaluation set.
 *
 * In:  an output directory; --coverage DIR (also write each sample scene's
 *      hair-coverage map as an 8-bit grey PNG, 255 = fully covered, in
 *      displayed coordinates); or --eval DIR [--count N] [--jobs N]; or
 *      --photo WIDTH HEIGHT OUT.jpg|png [--seed N] [--orientation O]
 *      [--quality Q].
 * Out: samples mode: the 9 committed samples and truth.csv. Eval mode: N
 *      (default 120) photos DIR/<id>.jpg|png, their truth masks
 *      DIR/<id>.hair.png and DIR/<id>.skin.png (8-bit grey, 255 = in, the
 *      size of the photo as displayed) and DIR/truth.csv. Photo mode: one
 *      consult-like photo of that size as stored, no truth (bench/speed).
 * Not: the renderer (tools/render.c) or a photo simulator. It never links
 *      libsmpmatch: it is the independent source of truth that library is
 *      tested against.
 *
 * Deterministic: the renderer has its own PRNG with fixed seeds, the eval
 * set's choices come from a PRNG seeded by each photo's number, the ICC
 * profile dates are pinned, and worker processes (--jobs) each write whole
 * files, so every run gives byte-identical files whatever the job count.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "encode.h"
#include "render.h"

/* ------------------------------------------------------------- shared -- */

typedef enum { TAG_NONE, TAG_ICC, TAG_PNG_SRGB } tag_kind;

/* How a rendered frame is stored. */
typedef struct output_def {
    const char *file;
    rnd_space space;
    tag_kind tag;
    int png_bits;     /* 0: JPEG; 8: PNG */
    int quality;      /* JPEG */
    int sub420;       /* JPEG 4:2:0 */
    int progressive;  /* JPEG */
    int orientation;  /* EXIF orientation 1, 3, 6 or 8 */
    double noise;     /* camera noise, standard deviation in 8-bit levels */
} output_def;

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (!p) {
        fprintf(stderr, "smp-gen-samples: out of memory\n");
        exit(1);
    }
    return p;
}

static char *join_path(const char *dir, const char *file)
{
    size_t n = strlen(dir) + strlen(file) + 2;
    char *p = xcalloc(n, 1);
    snprintf(p, n, "%s/%s", dir, file);
    return p;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "smp-gen-samples: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static const char *space_name(rnd_space sp, tag_kind tag)
{
    switch (sp) {
    case RND_SRGB:
        return tag == TAG_ICC ? "sRGB (embedded ICC)" : tag == TAG_PNG_SRGB ? "sRGB (PNG sRGB chunk)"
                                                                            : "sRGB (untagged)";
    case RND_P3:
        return "Display P3 (embedded ICC)";
    case RND_ADOBE:
        return "Adobe RGB 1998 (embedded ICC)";
    }
    return "?";
}

/* Writes the rendered frame as the output asks: rotated into storage order
 * for an EXIF orientation, tagged, JPEG or PNG. */
static int write_photo(const rnd_image *img, const output_def *od, const char *dir)
{
    int w = img->width, h = img->height;
    size_t n = (size_t)w * (size_t)h;
    unsigned char *stored = xcalloc(n * 3, 1);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            memcpy(stored + rnd_stored_index(od->orientation, w, h, x, y) * 3,
                   img->rgb + ((size_t)y * (size_t)w + (size_t)x) * 3, 3);
    int rotated = od->orientation == 6 || od->orientation == 8;
    int sw = rotated ? h : w, sh = rotated ? w : h;

    size_t icc_size = 0;
    unsigned char *icc = NULL;
    if (od->tag == TAG_ICC && !(icc = rnd_space_icc(od->space, &icc_size))) {
        free(stored);
        return -1;
    }
    char *path = join_path(dir, od->file);
    int rc;
    if (od->png_bits) {
        enc_png_opts po = {0};
        po.bits = 8;
        po.srgb_chunk = od->tag == TAG_PNG_SRGB;
        po.icc = icc;
        po.icc_size = icc_size;
        rc = enc_png(path, NULL, NULL, stored, sw, sh, ENC_PNG_RGB, &po);
    } else {
        enc_jpeg_opts jo = {0};
        jo.quality = od->quality;
        jo.subsample_420 = od->sub420;
        jo.progressive = od->progressive;
        jo.orientation = od->orientation == 1 ? 0 : od->orientation;
        jo.icc = icc;
        jo.icc_size = icc_size;
        rc = enc_jpeg(path, NULL, NULL, stored, sw, sh, 3, &jo);
    }
    free(path);
    free(icc);
    free(stored);
    return rc;
}

static int write_grey(const unsigned char *g, int w, int h, const char *dir, const char *name)
{
    char *path = join_path(dir, name);
    enc_png_opts po = {0};
    po.bits = 8;
    int rc = enc_png(path, NULL, NULL, g, w, h, ENC_PNG_GREY, &po);
    free(path);
    return rc;
}

static void fprint_rect(FILE *f, const rnd_rect *r, int present)
{
    if (present)
        fprintf(f, "\"%d,%d,%d,%d\"", r->x, r->y, r->w, r->h);
    else
        fprintf(f, "\"\"");
}

/* ------------------------------------------------- the committed samples -- */

#define MAX_OUTPUTS 2

typedef struct sample_def {
    const char *name; /* for messages and the coverage map */
    uint64_t seed;
    int width, height; /* displayed frame */
    rnd_layout lay;
    rnd_lab hair, skin;
    double target_cov;  /* mean hair coverage wanted inside hair_roi */
    double hair_roi[4], scalp_roi[4], card[4]; /* fractions of W, H; card w = 0: none */
    double cast_xy[2];  /* warm light: chromaticity of the illuminant the scene
                           is lit by while the camera is balanced for D50;
                           0: none (see cast_lab in render.c) */
    rnd_lab hair2;      /* a second hair colour (grey strands) ... */
    double hair2_share; /* ... as this share of the strands (0: none) ... */
    double hair2_zone[4]; /* ... rooted in this part of the frame (fractions) */
    const char *notes;
    output_def out[MAX_OUTPUTS];
    int n_out;
} sample_def;

/* Most frames are 1024x768, about a phone photo analysed at reduced size,
 * which keeps the JPEGs near 200 kB for git. */
#define FRAME_W 1024
#define FRAME_H 768

/* Truth colours, CIELAB D50. Skin values were chosen to span the ITA°
 * categories of Chardon et al. 1991 (ITA° = atan2(L*-50, b*), computed in
 * each comment) with a* 8-12 and b* 13-19, inside the ranges reported for
 * skin colorimetry; hair values were chosen inside the typical ranges for
 * hair colour (black L* 15-20, brown 25-40, blond 55-65, grey 55-70 with low
 * chroma, red/auburn with a* and b* well above brown). They are our choices,
 * not measurements of people. */
static const sample_def SAMPLES[] = {
    {
        .name = "crown_dark_on_light",
        .seed = 0x5a17c0de0001ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_CROWN, 0.52, 0.50, 0.22, 0.25, 0, 55, 0},
        .hair = {18.0, 1.5, 2.5},   /* black/dark brown */
        .skin = {66.0, 10.0, 15.0}, /* ITA 46.8: light */
        .target_cov = 0.78,
        .hair_roi = {0.02, 0.03, 0.20, 0.24},
        .scalp_roi = {0.44, 0.41, 0.17, 0.19},
        .notes = "crown close-up; black/dark-brown hair on light skin; untagged sRGB JPEG 4:4:4 q90",
        .out = {{"crown_dark_on_light.jpg", RND_SRGB, TAG_NONE, 0, 90, 0, 0, 1, 1.8}},
        .n_out = 1,
    },
    {
        .name = "temple_brown",
        .seed = 0x5a17c0de0002ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_RAMP, 0, 0, 0, 0, 135, -40, -0.25},
        .hair = {30.0, 6.0, 11.0},  /* medium brown */
        .skin = {60.0, 11.0, 17.0}, /* ITA 30.5: intermediate */
        .target_cov = 0.78,
        .hair_roi = {0.03, 0.64, 0.22, 0.30},
        .scalp_roi = {0.75, 0.05, 0.20, 0.25},
        .notes = "receding temple; medium-brown hair on intermediate skin; same scene as the sRGB twin",
        .out = {{"temple_brown_p3.jpg", RND_P3, TAG_ICC, 0, 90, 1, 0, 1, 1.8},
                {"temple_brown_srgb.jpg", RND_SRGB, TAG_NONE, 0, 90, 1, 0, 1, 1.8}},
        .n_out = 2,
    },
    {
        .name = "part_grey_on_dark",
        .seed = 0x5a17c0de0003ULL,
        .width = 640, .height = 480,
        .lay = {RND_LAYOUT_PART, 0.50, 0.50, 0, 0, 92, 35, 0.13},
        .hair = {64.0, 0.5, 7.0},   /* grey/white-ish, lighter than the skin */
        .skin = {36.0, 11.0, 15.0}, /* ITA -43.0: dark */
        .target_cov = 0.78,
        .hair_roi = {0.03, 0.30, 0.22, 0.36},
        .scalp_roi = {0.445, 0.28, 0.11, 0.44},
        .notes = "diffuse thinning along a parting; grey hair lighter than dark skin; 8-bit PNG with an sRGB chunk",
        .out = {{"part_grey_on_dark.png", RND_SRGB, TAG_PNG_SRGB, 8, 0, 0, 0, 1, 1.5}},
        .n_out = 1,
    },
    {
        .name = "frontal_blond",
        .seed = 0x5a17c0de0004ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_RAMP, 0, 0, 0, 0, 90, -100, -0.15},
        .hair = {60.0, 5.0, 21.0},  /* blond */
        .skin = {71.0, 8.0, 13.0},  /* ITA 58.2: very light */
        .target_cov = 0.78,
        .hair_roi = {0.36, 0.72, 0.28, 0.24},
        .scalp_roi = {0.32, 0.05, 0.36, 0.20},
        .notes = "frontal hairline; blond hair on very light skin; Adobe RGB (1998) tagged JPEG 4:2:0 q90",
        .out = {{"frontal_blond_adobergb.jpg", RND_ADOBE, TAG_ICC, 0, 90, 1, 0, 1, 1.6}},
        .n_out = 1,
    },
    {
        .name = "crown_auburn",
        .seed = 0x5a17c0de0005ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_CROWN, 0.45, 0.52, 0.20, 0.23, 0, -50, 0},
        .hair = {31.0, 15.0, 19.0}, /* red/auburn */
        .skin = {67.0, 10.0, 14.0}, /* ITA 50.5: light */
        .target_cov = 0.78,
        .hair_roi = {0.76, 0.70, 0.21, 0.26},
        .scalp_roi = {0.38, 0.43, 0.15, 0.19},
        .notes = "crown close-up; auburn hair on light skin; sRGB-tagged progressive JPEG 4:4:4 q92",
        .out = {{"crown_auburn_srgb_icc.jpg", RND_SRGB, TAG_ICC, 0, 92, 0, 1, 1, 1.6}},
        .n_out = 1,
    },
    {
        .name = "part_dark_on_brown_cast",
        .seed = 0x5a17c0de0006ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_PART, 0.55, 0.50, 0, 0, 70, 30, 0.12},
        .hair = {20.0, 2.5, 4.5},   /* dark brown */
        .skin = {45.0, 12.0, 19.0}, /* ITA -14.7: brown */
        .target_cov = 0.78,
        .hair_roi = {0.04, 0.56, 0.20, 0.28},
        .scalp_roi = {0.50, 0.38, 0.10, 0.20},
        .card = {0.80, 0.05, 0.17, 0.24},
        .cast_xy = {0.3805, 0.3768},
        .notes = "parting with a grey card (L*50 a*0 b*0) top right; warm cast: lit by 4000 K light (x 0.3805, y 0.3768), "
                 "Bradford-adapted from D50; "
                 "truth colours are without the cast; untagged sRGB JPEG 4:2:0 q90",
        .out = {{"part_dark_on_brown_cast_card.jpg", RND_SRGB, TAG_NONE, 0, 90, 1, 0, 1, 1.8}},
        .n_out = 1,
    },
    {
        .name = "side_lightbrown_orient6",
        .seed = 0x5a17c0de0007ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_RAMP, 0, 0, 0, 0, 0, 160, -0.10},
        .hair = {40.0, 6.0, 14.0},  /* light brown */
        .skin = {54.0, 12.0, 19.0}, /* ITA 11.9: tan */
        .target_cov = 0.78,
        .hair_roi = {0.75, 0.30, 0.21, 0.40},
        .scalp_roi = {0.04, 0.30, 0.18, 0.40},
        .notes = "light-brown hair on tan skin; stored rotated with EXIF orientation 6; rectangles are in displayed "
                 "pixels (1024x768); untagged sRGB JPEG 4:2:0 q90",
        .out = {{"side_lightbrown_orient6.jpg", RND_SRGB, TAG_NONE, 0, 90, 1, 0, 6, 1.8}},
        .n_out = 1,
    },
    {
        /* Per-area shades (issue 4): greying often starts at the temples, so
         * the left third (x < 338 as displayed, fading out by x 400) has 65 %
         * grey strands and the rest none. Coverage 0.55, sparser than the
         * other samples, so that bare skin shows between strands in every
         * part of the frame (each area finds its own skin). */
        .name = "temple_grey_on_tan",
        .seed = 0x5a17c0de0008ULL,
        .width = FRAME_W, .height = FRAME_H,
        .lay = {RND_LAYOUT_DIFFUSE, 0, 0, 0, 0, 0, 70, 0.35},
        .hair = {32.0, 6.5, 12.0},  /* brown */
        .skin = {57.0, 11.0, 18.0}, /* ITA 21.3: tan */
        .target_cov = 0.55,
        .hair_roi = {0.72, 0.06, 0.22, 0.26},
        .scalp_roi = {0.58, 0.58, 0.14, 0.18},
        .hair2 = {66.0, 0.5, 5.0}, /* grey */
        .hair2_share = 0.65,
        .hair2_zone = {0.0, 0.0, 0.33, 1.0},
        .notes = "diffuse thinning; brown hair with greyer temples: 65 % grey strands (66, 0.5, 5) rooted in "
                 "the left third (x < 338, fading out by x 400), none elsewhere; hair truth is the brown "
                 "outside it; untagged sRGB JPEG 4:2:0 q90",
        .out = {{"temple_grey_on_tan.jpg", RND_SRGB, TAG_NONE, 0, 90, 1, 0, 1, 1.8}},
        .n_out = 1,
    },
};

#define N_SAMPLES (sizeof SAMPLES / sizeof SAMPLES[0])

/* The renderer's parameters for one output of a committed sample: the
 * defaults of rnd_params_init are the values those samples were made with. */
static void sample_params(const sample_def *sd, const output_def *od, rnd_params *p)
{
    rnd_params_init(p);
    p->width = sd->width;
    p->height = sd->height;
    p->seed = sd->seed;
    p->layout = sd->lay;
    p->hair = sd->hair;
    p->hair2 = sd->hair2_share > 0 ? sd->hair2 : sd->hair;
    p->hair2_share = sd->hair2_share;
    memcpy(p->hair2_zone, sd->hair2_zone, sizeof p->hair2_zone);
    p->skin = sd->skin;
    p->coverage = sd->target_cov;
    memcpy(p->hair_roi, sd->hair_roi, sizeof p->hair_roi);
    memcpy(p->scalp_roi, sd->scalp_roi, sizeof p->scalp_roi);
    memcpy(p->card, sd->card, sizeof p->card);
    memcpy(p->cast_xy, sd->cast_xy, sizeof p->cast_xy);
    p->space = od->space;
    p->noise = od->noise;
}

static void sample_truth_row(FILE *f, const rnd_image *img, const sample_def *sd, const output_def *od)
{
    fprintf(f, "%s,%s,%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,", od->file, space_name(od->space, od->tag), sd->hair.L,
            sd->hair.a, sd->hair.b, sd->skin.L, sd->skin.a, sd->skin.b);
    fprint_rect(f, &img->hair_roi, 1);
    fputc(',', f);
    fprint_rect(f, &img->scalp_roi, 1);
    fputc(',', f);
    fprint_rect(f, &img->white_roi, img->has_white_roi);
    fprintf(f, ",\"%s\"\n", sd->notes);
}

static int write_coverage(const rnd_image *img, const sample_def *sd, const char *dir)
{
    size_t n = (size_t)img->width * (size_t)img->height;
    unsigned char *g = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) {
        double c = img->coverage[i];
        g[i] = (unsigned char)lround((c < 0 ? 0 : c > 1 ? 1 : c) * 255);
    }
    char name[256];
    snprintf(name, sizeof name, "%s_coverage.png", sd->name);
    int rc = write_grey(g, img->width, img->height, dir, name);
    free(g);
    return rc;
}

static int make_samples(const char *out_dir, const char *cov_dir)
{
    if (make_dir(out_dir) != 0 || (cov_dir && make_dir(cov_dir) != 0))
        return 1;
    char *truth_path = join_path(out_dir, "truth.csv");
    FILE *tf = fopen(truth_path, "w");
    if (!tf) {
        fprintf(stderr, "smp-gen-samples: cannot write %s: %s\n", truth_path, strerror(errno));
        free(truth_path);
        return 1;
    }
    fprintf(tf, "# Rendered by tools/gen_samples.c (smp-gen-samples); regenerate with: build/smp-gen-samples samples\n"
                "# Colours are CIELAB D50 as rendered (hair body colour; skin under illumination 1.0).\n"
                "# Rectangles are X,Y,W,H in pixels of the photo as displayed (EXIF orientation applied).\n"
                "# hair_roi: dense hair over skin; scalp_roi: bare skin, no strands; white_roi: grey card L*50 a*0 b*0.\n"
                "file,profile,hair_L,hair_a,hair_b,skin_L,skin_a,skin_b,hair_roi,scalp_roi,white_roi,notes\n");
    int rc = 0;
    for (size_t i = 0; i < N_SAMPLES && rc == 0; i++) {
        const sample_def *sd = &SAMPLES[i];
        /* Twins (one scene, two spaces) are rendered once per space: the
         * scene comes from the seed alone, so both hold the same scene. */
        for (int k = 0; k < sd->n_out && rc == 0; k++) {
            rnd_params p;
            rnd_image img;
            char err[256];
            sample_params(sd, &sd->out[k], &p);
            if (rnd_render(&p, &img, err, sizeof err) != 0) {
                fprintf(stderr, "smp-gen-samples: %s: %s\n", sd->name, err);
                rc = 1;
                break;
            }
            if (k == 0)
                printf("%-26s %4d strands, hair_roi coverage mean %.3f, fully covered %.3f\n", sd->name,
                       img.n_strands, img.roi_coverage, img.roi_full);
            if (write_photo(&img, &sd->out[k], out_dir) != 0)
                rc = 1;
            else
                sample_truth_row(tf, &img, sd, &sd->out[k]);
            if (rc == 0 && k == 0 && cov_dir && write_coverage(&img, sd, cov_dir) != 0)
                rc = 1;
            rnd_image_free(&img);
        }
    }
    if (fclose(tf) != 0 && rc == 0) {
        fprintf(stderr, "smp-gen-samples: cannot write %s\n", truth_path);
        rc = 1;
    }
    free(truth_path);
    return rc;
}

/* ------------------------------------------------- the evaluation set -- */

/* Colours, CIELAB D50: our choices inside the usual ranges for hair (black
 * L* 13-18, brown 22-45, blond 55-66, grey 55-70 and white 78-82 with low
 * chroma, red with a* and b* well above brown) and for scalp skin (a* 6-12,
 * b* 12-19), with skin chosen so that every ITA° category of Chardon et al.
 * 1991 appears (ITA° = atan2(L* - 50, b*), the category is computed from the
 * truth in skin_category()). Not measurements of people. */
enum { F_BLACK, F_DARK_BROWN, F_BROWN, F_LIGHT_BROWN, F_BLOND, F_RED, F_GREY, F_WHITE, F_SALT_PEPPER, N_FAMILY };

static const char *const FAMILY_NAME[N_FAMILY] = {"black", "dark-brown", "brown", "light-brown", "blond",
                                                  "red",   "grey",       "white", "salt-pepper"};
static const rnd_lab FAMILY_LAB[N_FAMILY][3] = {
    {{15, 0.8, 1.2}, {18, 1.5, 2.5}, {13, 0.5, 0.2}},
    {{22, 3, 5}, {25, 4, 7}, {23, 3.5, 6}},
    {{30, 6, 11}, {34, 7, 13}, {32, 6.5, 12}},
    {{40, 6, 14}, {45, 7, 17}, {42, 6.5, 15}},
    {{60, 5, 21}, {66, 4, 23}, {56, 6, 19}},
    {{31, 15, 19}, {40, 20, 28}, {36, 17, 23}},
    {{62, 0.5, 6}, {55, 0.3, 4}, {68, 0.2, 5}},
    {{82, 0, 4}, {78, 0.5, 6}, {80, 0.3, 5}},
    {{18, 1.5, 2.5}, {25, 4, 7}, {15, 0.8, 1.2}}, /* the dark part; grey/white strands mixed in */
};
static const rnd_lab SALT_LAB[2] = {{64, 0.5, 6}, {80, 0, 4}};

enum { S_VERY_LIGHT, S_LIGHT, S_INTERMEDIATE, S_TAN, S_BROWN, S_DARK, N_SKIN };
static const rnd_lab SKIN_LAB[N_SKIN][3] = {
    {{72, 8, 13}, {75, 6, 12}, {71, 8, 13}},    /* ITA 59.4, 64.4, 58.2 */
    {{66, 10, 15}, {68, 9, 17}, {64, 10, 14}},  /* 46.8, 46.6, 45.0 */
    {{60, 11, 17}, {62, 10, 16}, {59, 11, 15}}, /* 30.5, 36.9, 31.0 */
    {{54, 12, 19}, {57, 11, 18}, {55, 12, 19}}, /* 11.9, 21.3, 14.7 */
    {{45, 12, 19}, {49, 11, 18}, {42, 12, 18}}, /* -14.7, -3.2, -24.0 */
    {{36, 11, 15}, {30, 10, 12}, {40, 11, 16}}, /* -43.0, -59.0, -32.0 */
};

/* Pairs with little contrast, rendered again after every family has met
 * every skin category once. */
static const int HARD_PAIRS[][2] = {
    {F_BLACK, S_DARK},       {F_DARK_BROWN, S_DARK},   {F_BLOND, S_VERY_LIGHT}, {F_GREY, S_DARK},
    {F_WHITE, S_DARK},       {F_DARK_BROWN, S_BROWN},  {F_BLOND, S_LIGHT},      {F_SALT_PEPPER, S_DARK},
    {F_BLACK, S_BROWN},      {F_LIGHT_BROWN, S_VERY_LIGHT}, {F_GREY, S_BROWN},  {F_RED, S_LIGHT},
    {F_WHITE, S_TAN},        {F_SALT_PEPPER, S_LIGHT}, {F_BLACK, S_LIGHT},      {F_BROWN, S_INTERMEDIATE},
    {F_RED, S_VERY_LIGHT},   {F_GREY, S_LIGHT},        {F_LIGHT_BROWN, S_TAN},  {F_BROWN, S_TAN},
};
#define N_HARD (sizeof HARD_PAIRS / sizeof HARD_PAIRS[0])

/* Scene layouts with their rectangles, a grey-card position and the edge a
 * strip may cover (nothing measured lies within strip_max of it). */
typedef struct eval_template {
    const char *name;
    rnd_layout lay;
    double hair_roi[4], scalp_roi[4], card[4];
    rnd_edge strip_edge;
} eval_template;

static const eval_template TEMPLATES[] = {
    {"crown", {RND_LAYOUT_CROWN, 0.45, 0.50, 0.18, 0.22, 0, 50, 0},
     {0.03, 0.04, 0.18, 0.22}, {0.38, 0.41, 0.14, 0.18}, {0.05, 0.70, 0.15, 0.22}, RND_EDGE_RIGHT},
    {"crown", {RND_LAYOUT_CROWN, 0.58, 0.45, 0.20, 0.24, 0, -50, 0},
     {0.78, 0.72, 0.19, 0.24}, {0.51, 0.37, 0.15, 0.17}, {0.80, 0.05, 0.15, 0.22}, RND_EDGE_LEFT},
    {"temple", {RND_LAYOUT_RAMP, 0, 0, 0, 0, 135, -40, -0.25},
     {0.04, 0.62, 0.22, 0.30}, {0.48, 0.06, 0.20, 0.25}, {0.78, 0.70, 0.17, 0.22}, RND_EDGE_RIGHT},
    {"hairline", {RND_LAYOUT_RAMP, 0, 0, 0, 0, 90, -100, -0.15},
     {0.36, 0.72, 0.28, 0.24}, {0.32, 0.05, 0.36, 0.20}, {0.80, 0.35, 0.16, 0.22}, RND_EDGE_LEFT},
    {"side", {RND_LAYOUT_RAMP, 0, 0, 0, 0, 0, 160, -0.10},
     {0.75, 0.30, 0.21, 0.40}, {0.04, 0.30, 0.18, 0.40}, {0.40, 0.04, 0.15, 0.22}, RND_EDGE_BOTTOM},
    {"parting", {RND_LAYOUT_PART, 0.50, 0.50, 0, 0, 92, 35, 0.10},
     {0.04, 0.30, 0.20, 0.36}, {0.45, 0.30, 0.10, 0.40}, {0.78, 0.05, 0.17, 0.24}, RND_EDGE_TOP},
    {"parting", {RND_LAYOUT_PART, 0.50, 0.45, 0, 0, 20, 30, 0.10},
     {0.05, 0.72, 0.22, 0.24}, {0.42, 0.37, 0.16, 0.13}, {0.04, 0.04, 0.16, 0.22}, RND_EDGE_RIGHT},
    {"diffuse", {RND_LAYOUT_DIFFUSE, 0, 0, 0, 0, 0, 70, 0.35},
     {0.05, 0.06, 0.22, 0.26}, {0.58, 0.48, 0.16, 0.20}, {0.78, 0.06, 0.17, 0.22}, RND_EDGE_BOTTOM},
    {"stubble", {RND_LAYOUT_EVEN, 0, 0, 0, 0, 0, -60, 0},
     {0.06, 0.55, 0.22, 0.26}, {0.48, 0.12, 0.16, 0.20}, {0.74, 0.60, 0.17, 0.24}, RND_EDGE_RIGHT},
};
#define N_TEMPLATES (int)(sizeof TEMPLATES / sizeof TEMPLATES[0])

/* What the strands look like, in px of a 1200-wide frame. */
typedef struct hair_profile {
    const char *name;
    double width[2], length[2], spread_deg, coverage;
} hair_profile;

static const hair_profile PROFILES[] = {
    {"stubble", {2.5, 4.0}, {5, 16}, 30, 0.34},
    {"short", {3, 6}, {30, 90}, 20, 0.65},
    {"medium", {3, 7}, {110, 300}, 14, 0.78},
    {"long fine", {2, 4.5}, {200, 420}, 12, 0.72},
    {"thick", {5, 9}, {120, 320}, 14, 0.82},
};

/* Casts: the light's chromaticity, camera balanced for D50. Planckian 3500 K
 * and 4000 K (CIE 1931 xy, Wyszecki & Stiles, Color Science, 2nd ed., table
 * 1(3.11)), D65 and D75 (CIE 15:2004, table T.3). */
static const struct {
    const char *name;
    double xy[2];
} CASTS[] = {
    {"warm 4000 K", {0.3805, 0.3768}},
    {"cool D65", {0.3127, 0.3290}},
    {"warm 3500 K", {0.4053, 0.3907}},
    {"cool D75", {0.2990, 0.3149}},
};

typedef struct eval_item {
    char id[64];
    char file[80];
    int other;           /* kind other */
    int family, skin_cat;
    int templ, profile, cast; /* indexes into TEMPLATES, PROFILES, CASTS (cast -1: none) */
    rnd_params p;
    output_def od;
    char notes[400];
} eval_item;

typedef struct prng {
    uint64_t s;
} prng;

static uint64_t prng_next(prng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ULL); /* splitmix64 */
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int prng_int(prng *g, int n)
{
    return (int)(prng_next(g) % (uint64_t)n);
}

static double prng_range(prng *g, double lo, double hi)
{
    return lo + (hi - lo) * (double)(prng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

/* ITA° categories as docs/DESIGN.md lists them (Chardon et al. 1991). */
static const char *skin_category(rnd_lab s)
{
    double ita = atan2(s.L - 50, s.b) * 180 / 3.14159265358979323846;
    return ita > 55 ? "very light" : ita > 41 ? "light" : ita > 28 ? "intermediate" : ita > 10 ? "tan"
         : ita > -30 ? "brown" : "dark";
}

static const char *edge_name(rnd_edge e)
{
    return e == RND_EDGE_LEFT ? "left" : e == RND_EDGE_RIGHT ? "right" : e == RND_EDGE_TOP ? "top" : "bottom";
}

static const char *strip_name(rnd_strip s)
{
    switch (s) {
    case RND_STRIP_NONE: return "none";
    case RND_STRIP_WALL: return "wall";
    case RND_STRIP_CLOTH: return "cloth";
    case RND_STRIP_COMB: return "comb";
    case RND_STRIP_HAND: return "hand";
    }
    return "?";
}

static void append(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...)
{
    size_t len = strlen(buf);
    if (len + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + len, size - len, fmt, ap);
    va_end(ap);
}

/* The encoding of a consult photo k: mostly untagged sRGB JPEG 4:2:0 at
 * phone qualities, ~20 % ICC-tagged, a few PNG, a few stored rotated. */
static void eval_encoding(int k, prng *g, eval_item *it)
{
    output_def *od = &it->od;
    od->space = RND_SRGB;
    od->tag = TAG_NONE;
    od->quality = 70 + prng_int(g, 26);
    od->sub420 = prng_int(g, 100) < 85;
    od->progressive = prng_int(g, 100) < 15;
    od->noise = prng_range(g, 1.2, 2.4);
    od->orientation = 1;
    if (k % 5 == 2) {
        int v = (k / 5) % 4;
        od->space = v == 3 ? RND_SRGB : v == 2 ? RND_ADOBE : RND_P3;
        od->tag = TAG_ICC;
    }
    if (k % 19 == 9) {
        od->png_bits = 8;
        if (od->tag == TAG_NONE && (k / 19) % 2 == 0)
            od->tag = TAG_PNG_SRGB;
    }
    if (k % 13 == 6 && !od->png_bits) {
        static const int orient[3] = {6, 8, 3};
        od->orientation = orient[(k / 13) % 3];
    }
}

static void eval_size(int k, int n_consult, prng *g, int *w, int *h)
{
    static const int common[6][2] = {{1024, 768}, {1024, 768}, {1200, 900}, {1280, 960}, {1600, 1200},
                                     {2048, 1536}};
    /* Four 12 MP frames spread over the set. */
    if (k == 10 || k == n_consult / 3 || k == (2 * n_consult) / 3 + 1 || k == n_consult - 4) {
        *w = 4000;
        *h = 3000;
    } else if (k % 15 == 6) {
        *w = 2592;
        *h = 1944;
    } else if (k % 10 == 4) {
        *w = 640;
        *h = 480;
    } else if (k % 10 == 8) {
        *w = 800;
        *h = 600;
    } else {
        int c = prng_int(g, 6);
        *w = common[c][0];
        *h = common[c][1];
    }
}

static void consult_item(int k, int n_consult, eval_item *it)
{
    prng g = {0xe7a15e7ULL + (uint64_t)k * 0x100000001b3ULL};
    rnd_params *p = &it->p;
    rnd_params_init(p);
    p->seed = 0x5a17e7a10000ULL + (uint64_t)k;
    p->shade_global = 1;
    p->min_half_width = 1.0; /* strands at least 2 px wide, even in small frames */

    /* Hair and skin: every family on every category once, then the hard pairs. */
    if (k < N_FAMILY * N_SKIN) {
        it->family = k % N_FAMILY;
        it->skin_cat = (k / N_FAMILY) % N_SKIN;
    } else {
        it->family = HARD_PAIRS[(k - N_FAMILY * N_SKIN) % N_HARD][0];
        it->skin_cat = HARD_PAIRS[(k - N_FAMILY * N_SKIN) % N_HARD][1];
    }
    p->hair = FAMILY_LAB[it->family][prng_int(&g, 3)];
    p->skin = SKIN_LAB[it->skin_cat][prng_int(&g, 3)];
    p->hair2 = p->hair;
    if (it->family == F_SALT_PEPPER) {
        p->hair2 = SALT_LAB[prng_int(&g, 2)];
        p->hair2_mix = RND_MIX_STRANDS;
        p->hair2_share = (k % 3 == 0) ? prng_range(&g, 0.58, 0.7) : prng_range(&g, 0.28, 0.42);
    } else if ((it->family == F_BLOND || it->family == F_LIGHT_BROWN) && k % 2 == 1) {
        p->hair2 = (rnd_lab){p->hair.L - 12, p->hair.a + 1, p->hair.b - 4}; /* darker roots */
        p->hair2_mix = RND_MIX_ROOTS;
        p->hair2_share = 0.2;
    }

    /* Strands: stubble on one in six, the others from short to thick. */
    static const int prof_of[6] = {1, 2, 0, 2, 3, 4};
    const hair_profile *hp = &PROFILES[prof_of[k % 6]];
    int is_stubble = prof_of[k % 6] == 0;
    int t = is_stubble ? (int[]){8, 8, 7, 0}[prng_int(&g, 4)] : prng_int(&g, N_TEMPLATES - 1);
    const eval_template *tp = &TEMPLATES[t];
    memcpy(p->strand_width, hp->width, sizeof p->strand_width);
    memcpy(p->strand_length, hp->length, sizeof p->strand_length);
    p->spread_deg = hp->spread_deg;
    p->coverage = hp->coverage + prng_range(&g, -0.08, 0.06); /* dense to sparse */
    p->layout = tp->lay;
    memcpy(p->hair_roi, tp->hair_roi, sizeof p->hair_roi);
    memcpy(p->scalp_roi, tp->scalp_roi, sizeof p->scalp_roi);

    /* Light. */
    static const double shades[5] = {0.0, 0.05, 0.08, 0.12, 0.18};
    p->shading = shades[prng_int(&g, 5)];
    p->highlights = prng_int(&g, 100) < 80;

    /* Something else in the frame: a strip on one in four, a grey card under
     * a cast on one in eight, a card alone on a few (never both). */
    int cast = -1, card = 0;
    if (k % 4 == 1) {
        static const rnd_strip kinds[7] = {RND_STRIP_WALL, RND_STRIP_CLOTH, RND_STRIP_COMB, RND_STRIP_WALL,
                                           RND_STRIP_CLOTH, RND_STRIP_COMB, RND_STRIP_HAND};
        p->strip = kinds[(k / 4) % 7];
        p->strip_edge = tp->strip_edge;
        p->strip_depth = prng_range(&g, 0.08, 0.16);
        rnd_default_bg(p, prng_int(&g, 12));
    } else if (k % 8 == 3) {
        cast = (k / 8) % 4;
        card = 1;
    } else if (k % 24 == 7) {
        card = 1;
    }
    if (card)
        memcpy(p->card, tp->card, sizeof p->card);
    if (cast >= 0)
        memcpy(p->cast_xy, CASTS[cast].xy, sizeof p->cast_xy);

    eval_size(k, n_consult, &g, &p->width, &p->height);
    eval_encoding(k, &g, it);
    p->space = it->od.space;
    p->noise = it->od.noise;

    snprintf(it->id, sizeof it->id, "e%03d-%s-on-%s", k, FAMILY_NAME[it->family], skin_category(p->skin));
    for (char *c = it->id; *c; c++)
        if (*c == ' ')
            *c = '-';
    it->templ = t;
    it->profile = prof_of[k % 6];
    it->cast = cast;
}

/* Photos of something else: no hair, no skin. */
static void other_item(int k, int j, eval_item *it)
{
    static const rnd_scene scenes[6] = {RND_SCENE_WALL, RND_SCENE_CLOTH, RND_SCENE_LANDSCAPE, RND_SCENE_BRICK,
                                        RND_SCENE_WOOD, RND_SCENE_CLOTH};
    static const char *names[6] = {"wall", "cloth", "landscape", "brick", "wood", "cloth"};
    static const char *desc[6] = {"a plain painted wall with a door frame", "woven cloth with folds",
                                  "a landscape: sky, hills, sun, trees", "a brick wall",
                                  "a wooden table top", "woven cloth with folds"};
    prng g = {0x07e5ULL + (uint64_t)k * 0x100000001b3ULL};
    rnd_params *p = &it->p;
    rnd_params_init(p);
    p->seed = 0x5a17e7a20000ULL + (uint64_t)k;
    p->shade_global = 1;
    p->scene = scenes[j % 6];
    p->shading = 0.08;
    rnd_default_bg(p, j / 6 + 1 + 2 * (j % 6 == 5));
    p->width = (j % 2) ? 1600 : 1024;
    p->height = (j % 2) ? 1200 : 768;
    it->other = 1;
    it->od = (output_def){NULL, RND_SRGB, TAG_NONE, 0, 80 + prng_int(&g, 15), 1, 0, 1, prng_range(&g, 1.2, 2.0)};
    p->noise = it->od.noise;
    snprintf(it->id, sizeof it->id, "e%03d-other-%s", k, names[j % 6]);
    snprintf(it->notes, sizeof it->notes, "not a consult photo: %s; no hair, no skin", desc[j % 6]);
}

/* The notes column of a consult photo, written once its settings are final. */
static void consult_notes(eval_item *it)
{
    const rnd_params *p = &it->p;
    const eval_template *tp = &TEMPLATES[it->templ];
    const hair_profile *hp = &PROFILES[it->profile];
    int cast = it->cast;
    snprintf(it->notes, sizeof it->notes, "%s; %s strands %.1f-%.1f px wide, %.0f-%.0f long (at 1200 wide); "
             "hair_roi coverage %.2f; shading %.2f; highlights %s",
             tp->name, hp->name, hp->width[0], hp->width[1], hp->length[0], hp->length[1], p->coverage,
             p->shading, p->highlights ? "on" : "off");
    if (p->hair2_share > 0)
        append(it->notes, sizeof it->notes, "; %s (%.1f, %.1f, %.1f) %s %.2f",
               p->hair2_mix == RND_MIX_ROOTS ? "roots" : "second strand colour", p->hair2.L, p->hair2.a,
               p->hair2.b, p->hair2_mix == RND_MIX_ROOTS ? "over length share" : "share", p->hair2_share);
    if (p->strip)
        append(it->notes, sizeof it->notes, "; %s strip on the %s edge", strip_name(p->strip),
               edge_name(p->strip_edge));
    if (p->card[2] > 0)
        append(it->notes, sizeof it->notes, "; grey card L*50 a*0 b*0");
    if (cast >= 0)
        append(it->notes, sizeof it->notes, "; %s cast (x %.4f, y %.4f), truth is without it", CASTS[cast].name,
               CASTS[cast].xy[0], CASTS[cast].xy[1]);
}

/* Builds item k of n and checks its rectangles. A frame whose rectangles
 * do not fit (a 16:9 frame, a strip too deep) falls back to 4:3 and then to
 * no strip, deterministically. */
static int eval_item_make(int k, int n, int n_other, eval_item *it)
{
    memset(it, 0, sizeof *it);
    int n_consult = n - n_other;
    if (k >= n_consult)
        other_item(k, k - n_consult, it);
    else
        consult_item(k, n_consult, it);
    snprintf(it->file, sizeof it->file, "%s.%s", it->id, it->od.png_bits ? "png" : "jpg");
    it->od.file = it->file;
    char err[200];
    for (int attempt = 0; attempt < 3; attempt++) {
        if (rnd_rects(&it->p, NULL, NULL, NULL, NULL, err, sizeof err) == 0) {
            if (!it->other)
                consult_notes(it);
            return 0;
        }
        if (attempt == 0)
            it->p.height = it->p.width * 3 / 4;
        else
            it->p.strip = RND_STRIP_NONE;
    }
    fprintf(stderr, "smp-gen-samples: %s: %s\n", it->id, err);
    return -1;
}

static const char *profile_text(const output_def *od)
{
    if (od->png_bits && od->tag == TAG_NONE)
        return "sRGB (untagged PNG)";
    return space_name(od->space, od->tag);
}

static void eval_truth_row(FILE *f, const eval_item *it)
{
    const rnd_params *p = &it->p;
    rnd_rect hr, sr, wr;
    int has_w = 0;
    rnd_rects(p, &hr, &sr, &wr, &has_w, NULL, 0);
    fprintf(f, "%s,%s,%s,", it->file, it->other ? "other" : "consult", profile_text(&it->od));
    if (it->other) {
        fprintf(f, ",,,,,,\"\",\"\",\"\",");
    } else {
        rnd_lab h = rnd_hair_truth(p);
        fprintf(f, "%.1f,%.1f,%.1f,%.1f,%.1f,%.1f,", h.L, h.a, h.b, p->skin.L, p->skin.a, p->skin.b);
        fprint_rect(f, &hr, 1);
        fputc(',', f);
        fprint_rect(f, &sr, 1);
        fputc(',', f);
        fprint_rect(f, &wr, has_w);
        fputc(',', f);
    }
    fprintf(f, "%s.hair.png,%s.skin.png,%d,%d,%s,%s,", it->id, it->id, p->width, p->height,
            it->other ? "" : FAMILY_NAME[it->family], it->other ? "" : skin_category(p->skin));
    const output_def *od = &it->od;
    fprintf(f, "\"%s; %s", it->notes, od->png_bits ? "8-bit PNG" : "JPEG");
    if (!od->png_bits)
        fprintf(f, " q%d %s%s", od->quality, od->sub420 ? "4:2:0" : "4:4:4", od->progressive ? " progressive" : "");
    if (od->orientation != 1)
        fprintf(f, "; stored rotated, EXIF orientation %d", od->orientation);
    fprintf(f, "; noise %.1f levels\"\n", od->noise);
}

static int eval_render(const eval_item *it, const char *dir)
{
    rnd_image img;
    char err[256];
    if (rnd_render(&it->p, &img, err, sizeof err) != 0) {
        fprintf(stderr, "smp-gen-samples: %s: %s\n", it->id, err);
        return -1;
    }
    char name[96];
    int rc = write_photo(&img, &it->od, dir);
    snprintf(name, sizeof name, "%s.hair.png", it->id);
    rc |= write_grey(img.hair_mask, img.width, img.height, dir, name);
    snprintf(name, sizeof name, "%s.skin.png", it->id);
    rc |= write_grey(img.skin_mask, img.width, img.height, dir, name);
    if (rc == 0)
        printf("%-34s %5dx%-5d %6d strands, hair_roi coverage %.2f\n", it->file, img.width, img.height,
               img.n_strands, img.roi_coverage);
    fflush(stdout);
    rnd_image_free(&img);
    return rc;
}

static int make_eval(const char *dir, int count, int jobs)
{
    if (make_dir(dir) != 0)
        return 1;
    int n_other = count >= 100 ? 6 : count >= 10 ? 5 : count >= 2 ? 1 : 0;
    eval_item *items = xcalloc((size_t)count, sizeof *items);
    for (int k = 0; k < count; k++)
        if (eval_item_make(k, count, n_other, &items[k]) != 0) {
            free(items);
            return 1;
        }

    char *truth_path = join_path(dir, "truth.csv");
    FILE *tf = fopen(truth_path, "w");
    if (!tf) {
        fprintf(stderr, "smp-gen-samples: cannot write %s: %s\n", truth_path, strerror(errno));
        free(truth_path);
        free(items);
        return 1;
    }
    fprintf(tf, "# Evaluation set rendered by tools/gen_samples.c; regenerate with: build/smp-gen-samples --eval DIR --count %d\n"
                "# Colours are CIELAB D50: hair = the dominant strand colour, skin = scalp skin, both at illumination 1.0\n"
                "# (the shading field's median is 1.0 over the whole frame and over each rectangle); casts are not in the truth.\n"
                "# Rectangles are X,Y,W,H in pixels of the photo as displayed: hair_roi dense hair, scalp_roi bare scalp,\n"
                "# white_roi inside a grey card L*50 a*0 b*0. Masks (8-bit grey PNG, 255 = in, displayed size): hair_mask =\n"
                "# hair coverage >= 0.5; skin_mask = visible scalp skin (coverage < 0.5, not strip, card or other object).\n"
                "# kind other: not hair on skin; colours and rectangles empty, masks all zero. skin_category: ITA° category.\n"
                "file,kind,profile,hair_L,hair_a,hair_b,skin_L,skin_a,skin_b,hair_roi,scalp_roi,white_roi,hair_mask,"
                "skin_mask,width,height,hair_family,skin_category,notes\n", count);
    for (int k = 0; k < count; k++)
        eval_truth_row(tf, &items[k]);
    int rc = fclose(tf) != 0;
    if (rc)
        fprintf(stderr, "smp-gen-samples: cannot write %s\n", truth_path);
    free(truth_path);

    /* Each worker writes whole files of its own. Photos go to workers
     * largest first, each to the least loaded one, so one worker does not
     * get all the 12 MP frames. */
    int *owner = xcalloc((size_t)count, sizeof *owner);
    double load[64] = {0};
    for (int done = 0; done < count; done++) {
        int big = -1;
        double big_cost = -1;
        for (int k = 0; k < count; k++) {
            double cost = (double)items[k].p.width * items[k].p.height;
            if (owner[k] == 0 && cost > big_cost) {
                big = k;
                big_cost = cost;
            }
        }
        int least = 0;
        for (int j = 1; j < jobs; j++)
            if (load[j] < load[least])
                least = j;
        owner[big] = least + 1;
        load[least] += big_cost;
    }
    pid_t pids[64];
    int started = 0;
    fflush(stdout);
    for (int j = 0; j < jobs && rc == 0; j++) {
        pid_t pid = fork();
        if (pid < 0) {
            fprintf(stderr, "smp-gen-samples: cannot start a worker: %s\n", strerror(errno));
            rc = 1;
            break;
        }
        if (pid == 0) {
            int bad = 0;
            for (int k = 0; k < count && !bad; k++)
                if (owner[k] == j + 1)
                    bad = eval_render(&items[k], dir) != 0;
            fflush(stdout);
            _exit(bad);
        }
        pids[started++] = pid;
    }
    for (int j = 0; j < started; j++) {
        int status = 0;
        if (waitpid(pids[j], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            rc = 1;
    }
    free(owner);
    free(items);
    return rc;
}

/* ------------------------------------------------------- one big photo -- */

/* One consult-like scene at any size, for the speed benchmark (bench/speed):
 * WIDTH x HEIGHT is the size as stored, as a phone writes it; with EXIF
 * orientation 6 or 8 the scene is rendered HEIGHT x WIDTH as displayed and
 * stored rotated, as a phone held upright does. The seed picks the hair and
 * skin colours and the layout from the evaluation set's tables, so a few
 * seeds give a few distinct photos. No truth is written: the benchmark times
 * the analysis, it does not score it. */
typedef struct photo_opts {
    int width, height;   /* as stored */
    const char *out;     /* .png: 8-bit PNG; anything else: JPEG */
    uint64_t seed;
    int orientation;     /* 1, 3, 6 or 8 */
    int quality;         /* JPEG */
} photo_opts;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

static void photo_params(const photo_opts *po, rnd_params *p, output_def *od)
{
    prng g = {0xb16f07011ULL + po->seed * 0x100000001b3ULL};
    rnd_params_init(p);
    p->seed = 0x5a17b1600000ULL + po->seed;
    p->shade_global = 1;
    p->min_half_width = 1.0;
    int rotated = po->orientation == 6 || po->orientation == 8;
    p->width = rotated ? po->height : po->width;
    p->height = rotated ? po->width : po->height;
    /* Salt-and-pepper and stubble are left out: one plain colour, medium
     * strands, the commonest consult. */
    p->hair = FAMILY_LAB[prng_int(&g, N_FAMILY - 1)][prng_int(&g, 3)];
    p->hair2 = p->hair;
    p->skin = SKIN_LAB[prng_int(&g, N_SKIN)][prng_int(&g, 3)];
    const hair_profile *hp = &PROFILES[2];
    memcpy(p->strand_width, hp->width, sizeof p->strand_width);
    memcpy(p->strand_length, hp->length, sizeof p->strand_length);
    p->spread_deg = hp->spread_deg;
    p->coverage = hp->coverage;
    const eval_template *tp = &TEMPLATES[prng_int(&g, N_TEMPLATES - 1)];
    p->layout = tp->lay;
    memcpy(p->hair_roi, tp->hair_roi, sizeof p->hair_roi);
    memcpy(p->scalp_roi, tp->scalp_roi, sizeof p->scalp_roi);

    memset(od, 0, sizeof *od);
    od->space = RND_SRGB;
    od->tag = TAG_NONE;
    od->png_bits = ends_with(po->out, ".png") || ends_with(po->out, ".PNG") ? 8 : 0;
    od->quality = po->quality;
    od->sub420 = 1; /* as phones store JPEGs */
    od->orientation = po->orientation;
    od->noise = 1.8;
    p->noise = od->noise;
}

static int make_photo(const photo_opts *po)
{
    rnd_params p;
    output_def od;
    photo_params(po, &p, &od);
    char err[256];
    if (rnd_rects(&p, NULL, NULL, NULL, NULL, err, sizeof err) != 0) {
        /* A frame far from 4:3 may not fit a layout's rectangles: the
         * defaults (a crown close-up) fit any reasonable frame. */
        rnd_params q;
        rnd_params_init(&q);
        p.layout = q.layout;
        memcpy(p.hair_roi, q.hair_roi, sizeof p.hair_roi);
        memcpy(p.scalp_roi, q.scalp_roi, sizeof p.scalp_roi);
    }
    rnd_image img;
    if (rnd_render(&p, &img, err, sizeof err) != 0) {
        fprintf(stderr, "smp-gen-samples: %s: %s\n", po->out, err);
        return 1;
    }
    /* write_photo joins a folder and a file name. */
    size_t n = strlen(po->out) + 1;
    char *dir = xcalloc(n, 1);
    memcpy(dir, po->out, n);
    char *slash = strrchr(dir, '/');
    const char *file = slash ? po->out + (slash - dir) + 1 : po->out;
    if (slash)
        *slash = '\0';
    od.file = file;
    int rc = write_photo(&img, &od, slash ? dir : ".");
    if (rc != 0)
        fprintf(stderr, "smp-gen-samples: cannot write %s\n", po->out);
    else
        printf("%s %dx%d stored, orientation %d, %d strands\n", po->out, po->width, po->height,
               po->orientation, img.n_strands);
    free(dir);
    rnd_image_free(&img);
    return rc != 0;
}

/* ---------------------------------------------------------------- main -- */

static int usage(void)
{
    fprintf(stderr, "usage: smp-gen-samples [--coverage DIR] OUTDIR\n"
                    "       smp-gen-samples --eval DIR [--count N] [--jobs N]\n"
                    "       smp-gen-samples --photo WIDTH HEIGHT OUT.jpg|OUT.png [--seed N]\n"
                    "                       [--orientation 1|3|6|8] [--quality Q]\n"
                    "Renders the sample consult photos and OUTDIR/truth.csv, or the labelled\n"
                    "evaluation set (default 120 photos) with masks and DIR/truth.csv, or one\n"
                    "consult-like photo of WIDTH x HEIGHT as stored (JPEG 4:2:0, quality 90 by\n"
                    "default, or 8-bit PNG), for the speed benchmark.\n");
    return 2;
}

static int parse_int(const char *s, int lo, int hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *cov_dir = NULL, *out_dir = NULL, *eval_dir = NULL;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int count = 120, jobs = ncpu < 1 ? 1 : ncpu > 8 ? 8 : (int)ncpu;
    int bad = 0, photo = 0, photo_only = 0, seed = 1;
    photo_opts po = {0, 0, NULL, 1, 1, 90};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--photo") == 0 && i + 3 < argc) {
            photo = 1;
            bad |= parse_int(argv[++i], 16, 30000, &po.width) != 0;
            bad |= parse_int(argv[++i], 16, 30000, &po.height) != 0;
            po.out = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
            photo_only = 1;
            bad |= parse_int(argv[++i], 0, 1000000000, &seed) != 0;
        } else if (strcmp(argv[i], "--orientation") == 0 && i + 1 < argc) {
            photo_only = 1;
            bad |= parse_int(argv[++i], 1, 8, &po.orientation) != 0;
            bad |= po.orientation != 1 && po.orientation != 3 && po.orientation != 6 && po.orientation != 8;
        } else if (strcmp(argv[i], "--quality") == 0 && i + 1 < argc) {
            photo_only = 1;
            bad |= parse_int(argv[++i], 1, 100, &po.quality) != 0;
        } else if (strcmp(argv[i], "--coverage") == 0 && i + 1 < argc)
            cov_dir = argv[++i];
        else if (strcmp(argv[i], "--eval") == 0 && i + 1 < argc)
            eval_dir = argv[++i];
        else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
            bad |= parse_int(argv[++i], 1, 10000, &count) != 0;
        else if (strcmp(argv[i], "--jobs") == 0 && i + 1 < argc)
            bad |= parse_int(argv[++i], 1, 64, &jobs) != 0;
        else if (argv[i][0] != '-' && !out_dir)
            out_dir = argv[i];
        else
            bad = 1;
    }
    if (photo) {
        if (bad || eval_dir || out_dir || cov_dir)
            return usage();
        po.seed = (uint64_t)seed;
        return make_photo(&po);
    }
    if (bad || photo_only || (eval_dir ? (out_dir || cov_dir) : !out_dir))
        return usage();
    if (eval_dir)
        return make_eval(eval_dir, count, jobs);
    return make_samples(out_dir, cov_dir);
}
