/*
 * smpmatch.h: the public interface of libsmpmatch.
 *
 * libsmpmatch turns a consult photo of hair on a scalp into measured colours
 * (CIELAB, D50) and a ranked list of scalp-micropigmentation pigment shades.
 *
 *   smp_palette *pal;  smp_result *res;  smp_options opt;  smp_error err;
 *   smp_palette_new_default(&pal, &err);
 *   smp_options_init(&opt);
 *   smp_analyse_file("consult.jpg", pal, &opt, &res);   // res always set
 *   if (res->status == SMP_OK) ... res->hair.lab, res->matches[0].name ...
 *   smp_result_free(res);  smp_palette_free(pal);
 *
 * Conventions, for every function here:
 * - Functions return an smp_status; SMP_OK is 0. On failure they fill the
 *   caller's smp_error (when not NULL) with one line of plain words that
 *   names the file and the cause ("consult7.jpg: not a JPEG or PNG file").
 * - The library never prints, never exits and keeps no global mutable state:
 *   photos may be analysed on several threads at once, sharing one palette
 *   (a palette is read-only once loaded).
 * - Ownership: what a *_new or *_load function returns belongs to the caller
 *   and is released with the matching *_free, which accepts NULL.
 * - All CIELAB values are D50 (the ICC profile connection space).
 */
#ifndef SMPMATCH_H
#define SMPMATCH_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SMP_VERSION "0.1.0"

typedef enum smp_status {
    SMP_OK = 0,
    SMP_E_IO,          /* the file could not be read or written */
    SMP_E_FORMAT,      /* not a photo / palette we understand, or corrupt */
    SMP_E_UNSUPPORTED, /* a valid file of a kind we do not handle (CMYK JPEG) */
    SMP_E_LIMIT,       /* over a size limit (pixels, bytes, entries) */
    SMP_E_NOMEM,       /* out of memory */
    SMP_E_ARG,         /* a bad option value (rectangle outside the photo) */
    SMP_E_COLOUR       /* colour management failed */
} smp_status;

/* Room for a path as long as Linux allows (PATH_MAX, 4096) and its cause:
 * the cause must never be cut off by a long path. */
#define SMP_ERROR_MAX 4608

typedef struct smp_error {
    smp_status status;
    char message[SMP_ERROR_MAX]; /* one line, names the file and the cause */
} smp_error;

/* Returns a short constant description of a status ("out of memory"). */
const char *smp_status_string(smp_status status);

/* ------------------------------------------------------------------ */
/* Colour helpers (pure functions, usable on their own)                */
/* ------------------------------------------------------------------ */

typedef enum smp_metric {
    SMP_METRIC_DE2000 = 0, /* CIEDE2000, kL = kC = kH = 1 (LittleCMS) */
    SMP_METRIC_DE94,       /* CIE94 graphic arts, CIE 116-1995 (ours) */
    SMP_METRIC_DE76,       /* Euclidean distance in CIELAB (LittleCMS) */
    SMP_METRIC_CMC         /* CMC l:c = 2:1 (LittleCMS) */
} smp_metric;

/* Colour difference between a reference (the measured hair) and a sample
 * (a shade). Only ΔE94 and CMC are asymmetric; for them `ref` is the
 * reference. */
double smp_delta_e(smp_metric metric, const double ref[3], const double sample[3]);

/* "de2000", "de94", "de76", "cmc"; parse returns -1 when unknown. */
const char *smp_metric_name(smp_metric metric);
int smp_metric_parse(const char *name);

/* Verdict in words for a CIEDE2000 difference (Paravina et al. 2015:
 * 0.8 perceptibility, 1.8 acceptability; 3.5 print tolerance):
 * "indistinguishable", "acceptable", "marginal", "no good match". */
const char *smp_verdict(double delta_e00);

/* Individual typology angle ITA° = atan2(L* - 50, b*) in degrees, and its
 * category ("very light", "light", "intermediate", "tan", "brown", "dark"). */
double smp_ita_deg(const double lab[3]);
const char *smp_ita_category(double ita_deg);

/* The healed-appearance model (docs/model.md). The pigment lies in the
 * upper dermis under a layer of the client's own skin; per channel of
 * linear-light sRGB (reflectance), the layer is a Kubelka-Munk layer of
 * optical thickness veil * (lambda / 550 nm)^-1.42 whose infinite-thickness
 * reflectance is the skin's, and carbon particles add a Rayleigh-like blue
 * scatter blue_shift * (lambda / 550 nm)^-4. Defaults are our assumptions,
 * stated in docs/model.md with their reasons: adjust them with a clinic's
 * healed swatches. */
#define SMP_DEFAULT_VEIL 0.04
#define SMP_DEFAULT_BLUE_SHIFT 0.004

/* Predicted healed colour of a pigment (bottle Lab) in skin of colour
 * `skin`. veil 0 and blue_shift 0 give the bottle colour back. Returns
 * SMP_OK; SMP_E_ARG for a negative, infinite or NaN veil or blue
 * shift; SMP_E_COLOUR / SMP_E_NOMEM when LittleCMS fails. */
smp_status smp_heal_lab(const double pigment[3], const double skin[3], double veil,
                        double blue_shift, double out[3]);

/* Kubelka-Munk (single constant) mix of two colours by volume: share_a of
 * a (0..1), the rest b, per channel of linear-light sRGB. */
smp_status smp_mix_lab(const double a[3], const double b[3], double share_a, double out[3]);

/* The skin's undertone from its hue angle h = atan2(b*, a*): "cool"
 * (pink-red, h < 50°), "neutral" (50-60°) or "warm" (golden, > 60°). */
const char *smp_undertone(const double skin[3]);

/* D50 CIELAB to an sRGB hex string "#rrggbb" (through LittleCMS, relative
 * colorimetric, clipped). `hex` must hold 8 bytes. */
void smp_lab_to_hex(const double lab[3], char hex[8]);

/* ------------------------------------------------------------------ */
/* Palettes                                                            */
/* ------------------------------------------------------------------ */

typedef enum smp_shade_kind { SMP_KIND_PIGMENT = 0, SMP_KIND_DILUENT } smp_shade_kind;

typedef struct smp_shade {
    const char *name;    /* never NULL */
    const char *code;    /* "" when the palette has none */
    const char *brand;   /* "" when none */
    const char *notes;   /* "" when none: where the value came from */
    const char *base;    /* name of the pigment this is diluted from, or "" */
    const char *palette; /* the palette it came from: file name or "built-in" */
    smp_shade_kind kind;
    double dilution;     /* parts diluent to one part pigment; 0 = neat */
    double lab[3];       /* D50: the colour in the bottle (or of a drawdown) */
    double veil;         /* healed model: this shade's veil (see smp_heal_lab);
                            NAN = the options' veil. 0 = `lab` is already a
                            healed measurement, shown as it is */
    double blue_shift;   /* healed model: this shade's Tyndall blue shift;
                            NAN = the options' blue shift (carbon assumed) */
    int derived;         /* 1 when `lab` was worked out from `base` and
                            `dilution` by the mixing model (no colour given) */
    int line;            /* line in the palette file (CSV) or sample index */
} smp_shade;

typedef struct smp_palette smp_palette;

/* Loads a palette file, CSV or CGATS/IT8 (detected from the content).
 * *out is set on success only. Errors name the file and, where there is
 * one, the line. */
smp_status smp_palette_load(const char *path, smp_palette **out, smp_error *err);

/* Same from memory; `name` is used in messages and as the shade's palette. */
smp_status smp_palette_load_memory(const char *name, const void *data, size_t size,
                                   smp_palette **out, smp_error *err);

/* The default palette compiled into the library (palettes/default.csv). */
smp_status smp_palette_new_default(smp_palette **out, smp_error *err);

/* Appends copies of every shade of `src` to `dst`. */
smp_status smp_palette_append(smp_palette *dst, const smp_palette *src, smp_error *err);

size_t smp_palette_size(const smp_palette *palette);
/* The i-th shade, owned by the palette; NULL when out of range. */
const smp_shade *smp_palette_get(const smp_palette *palette, size_t i);

/* Warnings found while loading: repeated shade names and colours no
 * pigment can have, one line each naming the file and the line
 * ("my.csv: line 7: \"Warm carbon\" is also on line 3; ..."); the rules
 * are in docs/palette.md. A palette with warnings is still usable. The
 * strings belong to the palette; smp_palette_append appends src's
 * warnings to dst's. smp_palette_warning returns NULL when i is out of
 * range. The built-in palette has none. */
size_t smp_palette_warning_count(const smp_palette *palette);
const char *smp_palette_warning(const smp_palette *palette, size_t i);
void smp_palette_free(smp_palette *palette);

/* ------------------------------------------------------------------ */
/* Analysis                                                            */
/* ------------------------------------------------------------------ */

typedef enum smp_model {
    SMP_MODEL_HEALED = 0, /* hair colour against each shade's predicted healed colour */
    SMP_MODEL_DIRECT      /* hair colour against the pigment colour */
} smp_model;

typedef enum smp_session {
    SMP_SESSION_ANY = 0, /* rank every shade; also name the lighter start */
    SMP_SESSION_FIRST    /* first session: only shades that heal at or lighter
                            than the hair (pigment can be added later, not
                            taken away) */
} smp_session;

typedef struct smp_rect {
    int x, y, w, h; /* pixels of the photo as displayed (EXIF orientation applied) */
} smp_rect;

/* Parses "X,Y,W,H" (non-negative integers, W and H > 0). Returns 0 on
 * success, -1 otherwise. */
int smp_rect_parse(const char *text, smp_rect *out);

#define SMP_MAX_ROIS 16
#define SMP_MAX_AREAS 8
#define SMP_AREA_NAME_MAX 32

/* A named area of the head measured and matched on its own (--region
 * NAME=X,Y,W,H): "hairline", "crown", "temples", ... An area whose name
 * starts with "scar" is a scar: its tissue is compared with the scalp
 * around it and the shade that camouflages it is recommended. */
typedef struct smp_area_spec {
    char name[SMP_AREA_NAME_MAX]; /* letters, digits, '-' and '_' */
    smp_rect rect;
} smp_area_spec;

/* Parses "NAME=X,Y,W,H". Returns 0 on success, -1 otherwise. */
int smp_area_parse(const char *text, smp_area_spec *out);

/* Memory one thread reuses from photo to photo (optional). Give each
 * thread that analyses photos its own in smp_options.workspace: the big
 * buffers of a photo (the file, its pixels, the Lab image, masks, samples)
 * are mapped for it and kept when the photo is done, for the next photo;
 * what a photo did not use is returned to the system when it ends. A
 * batch's peak memory then stays flat however many photos follow, also on
 * several threads, whose malloc arenas otherwise kept growing: 12 MP JPEGs
 * on 2 threads peaked at 197 MB after 200 photos and 351 MB after 800,
 * and at 75 MB after either with a workspace per thread. Without one, each
 * photo gets a workspace of its own, freed after it: one thread then
 * stays at 29 MB (a workspace kept across photos holds a block per buffer
 * size: 39 MB). Never use one in two threads at once. */
typedef struct smp_workspace smp_workspace;
smp_status smp_workspace_new(smp_workspace **out);
void smp_workspace_free(smp_workspace *ws); /* and what it keeps */

typedef struct smp_options {
    smp_metric metric;   /* default SMP_METRIC_DE2000 */
    smp_model model;     /* default SMP_MODEL_HEALED */
    int top;             /* shades to list; default 5 */
    smp_rect hair_roi[SMP_MAX_ROIS];
    size_t n_hair_roi;
    smp_rect scalp_roi[SMP_MAX_ROIS];
    size_t n_scalp_roi;
    const char *hair_mask;  /* PNG path or NULL */
    const char *scalp_mask; /* PNG path or NULL */
    int has_white_roi;
    smp_rect white_roi;
    int has_chart;       /* 1: a ColorChecker Classic 24 is in the photo */
    double chart[8];     /* X1,Y1 .. X4,Y4: the outer corners of its 6x4 patch
                            grid (docs/chart.md), pixels of the photo as
                            displayed, in any order; the chart wins over
                            white_roi when both are given */
    size_t max_pixels;   /* photos larger than this are refused before decoding;
                            default SMP_DEFAULT_MAX_PIXELS */
    const char *debug_masks_dir; /* when set, the hair and scalp masks and an
                            overlay are written there as PNG per photo
                            (<name>.hair.png, <name>.scalp.png,
                            <name>.overlay.png; <name> = the photo's file name
                            without folder and extension), at the analysed
                            size (image.analysed_width x analysed_height);
                            the folder must exist. NULL: nothing is written. */
    int match_cluster;   /* 0 (default): shades are matched against the
                            dominant hair cluster; any other value (the CLI
                            uses -1): against the hair colour of all hair
                            pixels together */
    double veil;         /* healed model: optical thickness of the skin over
                            the pigment at 550 nm; default SMP_DEFAULT_VEIL;
                            0 = no veil */
    double blue_shift;   /* healed model: Tyndall blue shift of carbon
                            pigment; default SMP_DEFAULT_BLUE_SHIFT */
    int fitzpatrick;     /* 1..6 as given by the technician; 0 = not given.
                            Never guessed from the photo (ITA° correlates
                            poorly with it); used as the skin for the model
                            when no scalp is measured, and in the guidance */
    smp_session session; /* default SMP_SESSION_ANY */
    int recipes;         /* non-zero (default): look for two-part mixes */
    smp_area_spec areas[SMP_MAX_AREAS];
    size_t n_areas;
    int analysis_size;   /* the long side, in pixels, the analysis works at:
                            a larger photo is reduced by the largest
                            factor of 2, 4 or 8 that keeps its long side at
                            least this (JPEG: decoded straight to that size
                            by DCT scaling; PNG: rows averaged while they
                            are read); 0 = full resolution. Default SMP_DEFAULT_ANALYSIS_SIZE.
                            Rectangles and masks stay in pixels of the photo
                            as displayed: they are scaled to match. With the
                            default a 4032x3024 photo is analysed at
                            1008x756 and a 2048x1536 one at 1024x768. */
    const char *report_path; /* when set, the consult sheet of this photo is
                            written there: PDF or PNG by the extension
                            (".pdf", ".png"); the folder must exist; an
                            existing file is replaced only by a complete
                            sheet. NULL (default): none. A sheet that cannot
                            be written is a warning on the result, and
                            smp_result.report_written stays 0. */
    long long report_time; /* the date printed on the sheet, seconds since
                            1970 (UTC); 0 (default) = now */
    smp_workspace *workspace; /* NULL (default: a new one for each photo),
                            or this thread's own (see smp_workspace);
                            results are the same either way */
    int threads;         /* threads one photo's analysis may use: 1 (default)
                            or 2 (the calling thread and a helper started for
                            the photo, kept off the CPU the caller is on
                            when it starts, on Linux; larger values count
                            as 2). Results are byte-identical either way.
                            A program that
                            analyses photos in parallel itself keeps 1;
                            smpmatch uses 2 for a lone photo (README) */
} smp_options;

/* 1000 px: the resolution the automatic hair and scalp finder was tuned and
 * measured at (bench/accuracy: frames 640-2048 px wide, most 1024). */
#define SMP_DEFAULT_ANALYSIS_SIZE 1000

/* 100 MP: twice a 48 MP phone sensor, and 1.2 GB of 12-byte Lab pixels. */
#define SMP_DEFAULT_MAX_PIXELS ((size_t)100 * 1000 * 1000)

void smp_options_init(smp_options *opt);

typedef enum smp_source {
    SMP_SOURCE_NONE = 0, /* not measured */
    SMP_SOURCE_AUTO,     /* found automatically (regions_auto.c) */
    SMP_SOURCE_ROI,      /* rectangles */
    SMP_SOURCE_MASK      /* a mask file */
} smp_source;

const char *smp_source_name(smp_source source); /* "none","auto","roi","mask" */

typedef struct smp_colour_stat {
    int measured;       /* 0 when there was nothing to measure */
    double lab[3];      /* robust centre, D50 */
    char hex[8];        /* sRGB "#rrggbb" */
    size_t pixels;      /* pixels that went into the centre */
    size_t region_pixels; /* pixels in the region before rejection */
    double spread_de;   /* median ΔE00 of the kept pixels from the centre */
    smp_source source;
} smp_colour_stat;

typedef struct smp_match {
    int rank;           /* 1-based; shades within 0.8 ΔE00 of the best share rank 1, ... */
    const char *name, *code, *palette, *notes; /* copies owned by the result */
    double lab[3];      /* the shade's colour (in the bottle) */
    char hex[8];
    double healed_lab[3]; /* predicted healed colour on this skin (= lab with
                            --model direct or when no skin is known) */
    char healed_hex[8];
    double delta_e;     /* hair against what is ranked (healed or bottle), chosen metric */
    double delta_e00;   /* the same, always CIEDE2000, for the verdict */
    double bottle_delta_e00; /* hair against the bottle colour, CIEDE2000 */
    int lighter;        /* 1 when it heals at or lighter than the hair (L*) */
    const char *verdict;
} smp_match;

/* A two-part mix: `parts_a` parts of `a` to `parts_b` parts of `b`
 * ("1 part Carbon black : 6 parts Distilled water"). */
typedef struct smp_recipe {
    const char *a, *a_code, *b, *b_code; /* copies owned by the result */
    int b_diluent;      /* 1 when b is a diluent (water) */
    int parts_a, parts_b; /* smallest whole numbers */
    double share_a;     /* a's share of the mix, 0.05..0.95 in 5 % steps */
    double lab[3];      /* the mix in the bottle (Kubelka-Munk) */
    char hex[8];
    double healed_lab[3];
    char healed_hex[8];
    double delta_e, delta_e00; /* as in smp_match */
    double gain_de00;   /* how much closer than the best single shade, ΔE00 */
    int lighter;
    const char *verdict;
    char *text;         /* the recipe in words */
} smp_recipe;

typedef struct smp_calibration {
    const char *method; /* "none", "white-roi" or "chart" */
    smp_rect roi;
    double patch_lab[3];  /* patch as photographed (before adaptation) */
    double spread_de;     /* median ΔE00 of patch pixels from its mean */
    double clipped_share; /* share of patch pixels clipped in any channel */
    /* method "chart" (docs/chart.md); the fields above stay 0 then. */
    const char *fit;      /* "matrix" or "root-polynomial"; NULL otherwise */
    const char *chart_orientation; /* "upright", "rotated 180°", ... */
    double chart_corners[8]; /* as given, reordered: the outer corners of
                            patches A01, A06, D06, D01 (dark skin, bluish
                            green, black, white) */
    double chart_mean_de, chart_max_de; /* ΔE00 of the patches used, after the fit */
    double chart_loo_matrix, chart_loo_rootpoly; /* leave-one-out mean ΔE00
                            of each fit: what chose between them */
    unsigned long chart_clipped; /* bit i set: patch i (A01 = bit 0, A02,
                            ... D06 = bit 23) clipped, left out of the fit */
} smp_calibration;

typedef struct smp_result {
    char *file;
    smp_status status;
    char *error;        /* one line when status != SMP_OK, else NULL */
    struct {
        int width, height;                   /* as displayed */
        int analysed_width, analysed_height; /* pixels the analysis used */
        const char *format;                  /* "jpeg", "png", "heif", "avif", "tiff" or "webp" */
        char *icc_profile;   /* description of the profile used */
        int icc_assumed;     /* 1 when the photo was untagged and taken as sRGB */
        int orientation;     /* EXIF orientation found (1 = none), already applied */
    } image;
    smp_colour_stat hair, scalp;
    /* The hair's colour groups (salt-and-pepper grey, roots, sun-lightened
     * ends), largest first; n_hair_clusters is 0 when the hair was not
     * measured. hair.lab is the dominant cluster's colour unless
     * opt.match_cluster is -1. */
    struct smp_hair_cluster {
        double lab[3];
        char hex[8];
        double share;      /* of the kept hair pixels, 0..1 */
        int grey;          /* 1 when the group is grey or white hair (C* < 8, L* > 45) */
    } hair_clusters[4];
    size_t n_hair_clusters;
    double grey_share;   /* share of hair pixels in grey clusters, 0..1 */
    double ita_deg;              /* of the scalp skin; valid when scalp.measured */
    const char *ita_category;
    const char *undertone;       /* "warm", "neutral", "cool" (skin hue angle), or "unknown" */
    /* The healed model as applied: the skin it used ("scalp" measured,
     * "fitzpatrick" stand-in, or "none": shades ranked by bottle colour). */
    struct {
        const char *skin_source;
        double skin_lab[3];
        double veil, blue_shift;
        int fitzpatrick;
        smp_session session;
        double darkest_l; /* the lowest L* any shade shows as ranked; NAN when not matched */
    } heal;
    /* The best shade that heals at or lighter than the hair; has_lighter_start
     * is 0 when no shade does. It may be matches[0]. */
    smp_match lighter_start;
    int has_lighter_start;
    smp_recipe *recipes;         /* mixes that beat the best shade by >= 1 ΔE00 */
    size_t n_recipes;
    char **guidance;             /* plain-words advice about this skin and hair */
    size_t n_guidance;
    /* Per-area results (--region), in the order given. */
    struct smp_area *areas;
    size_t n_areas;
    smp_calibration calibration;
    smp_metric metric;
    smp_model model;
    smp_match *matches;
    size_t n_matches;
    double confidence;           /* 0..1 */
    char **warnings;
    size_t n_warnings;
    int report_written;          /* 1 when opt.report_path was written */
} smp_result;

typedef struct smp_area {
    char *name;
    smp_rect rect;        /* as given (clipped to the photo) */
    int scar;             /* 1 for a scar area */
    /* The area's own measurement and shades; for a scar, scalp is the scar
     * tissue, hair is the hair around it, and the shades are predicted on
     * the scar tissue. Its file, image and calibration repeat the photo's. */
    struct smp_result *result;
    smp_colour_stat surround; /* scar: the scalp around the scar */
    double scar_delta_l;  /* scar: L* of the scar minus the scalp around it */
    double scar_de00;     /* scar: ΔE00 between them */
} smp_area;

/* The photo format recognised from the first bytes of a file: "jpeg",
 * "png", "heif", "avif", "tiff" or "webp"; NULL when it is none of them.
 * SMP_PHOTO_HEAD bytes (or the whole file, when shorter) recognise every
 * format. A format that was not built into this library is still named:
 * analysing it then fails with a message that says so. */
#define SMP_PHOTO_HEAD 272
const char *smp_photo_format(const void *head, size_t size);

/* Analyses one photo (JPEG, PNG, and HEIC/HEIF, AVIF, TIFF and WebP where
 * built in; `smpmatch --version` lists them), detected from the bytes. *out is always
 * set (unless out is NULL or memory runs out, then SMP_E_NOMEM) and must be
 * freed with smp_result_free, also on error: a failed photo's result carries
 * its status and error line for the report. Returns the result's status. */
smp_status smp_analyse_file(const char *path, const smp_palette *palette,
                            const smp_options *opt, smp_result **out);

/* Same from memory; `name` is the file name used in the result and messages. */
smp_status smp_analyse_memory(const char *name, const void *data, size_t size,
                              const smp_palette *palette, const smp_options *opt,
                              smp_result **out);

void smp_result_free(smp_result *result);

/* ------------------------------------------------------------------ */
/* Output                                                              */
/* ------------------------------------------------------------------ */

/* One JSON object on one line, no trailing newline, keys as in docs/DESIGN
 * (file, status, image, hair, scalp, calibration, matches, confidence,
 * warnings, error). Returns a malloc'd string the caller frees, or NULL when
 * memory runs out. */
char *smp_result_to_json(const smp_result *result);

/* The CSV header line and the rows of one result (one per match, or one row
 * with empty match fields when there is none), each ending in "\n".
 * RFC 4180 quoting. Malloc'd; the caller frees. */
const char *smp_csv_header(void);
char *smp_result_to_csv(const smp_result *result);

/* A block of text for a person at a terminal. With `colour` non-zero, ANSI
 * 24-bit colour swatches are drawn beside colours. Malloc'd; caller frees. */
char *smp_result_to_text(const smp_result *result, int colour);

#ifdef __cplusplus
}
#endif

#endif /* SMPMATCH_H */
