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

#define SMP_ERROR_MAX 512

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
    double lab[3];       /* D50 */
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
void smp_palette_free(smp_palette *palette);

/* ------------------------------------------------------------------ */
/* Analysis                                                            */
/* ------------------------------------------------------------------ */

typedef enum smp_model {
    SMP_MODEL_HEALED = 0, /* predicted healed appearance (until it lands: as direct) */
    SMP_MODEL_DIRECT      /* hair colour against the pigment colour */
} smp_model;

typedef struct smp_rect {
    int x, y, w, h; /* pixels of the photo as displayed (EXIF orientation applied) */
} smp_rect;

/* Parses "X,Y,W,H" (non-negative integers, W and H > 0). Returns 0 on
 * success, -1 otherwise. */
int smp_rect_parse(const char *text, smp_rect *out);

#define SMP_MAX_ROIS 16

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
    size_t max_pixels;   /* photos larger than this are refused before decoding;
                            default SMP_DEFAULT_MAX_PIXELS */
    const char *debug_masks_dir; /* when set, the hair and scalp masks and an
                            overlay are written there as PNG per photo
                            (<name>.hair.png, <name>.scalp.png,
                            <name>.overlay.png; <name> = the photo's file name
                            without folder and extension); the folder must
                            exist. NULL: nothing is written. */
    int match_cluster;   /* 0 (default): shades are matched against the
                            dominant hair cluster; any other value (the CLI
                            uses -1): against the hair colour of all hair
                            pixels together */
} smp_options;

/* 100 MP: twice a 48 MP phone sensor, and 1.2 GB of 12-byte Lab pixels. */
#define SMP_DEFAULT_MAX_PIXELS ((size_t)100 * 1000 * 1000)

void smp_options_init(smp_options *opt);

typedef enum smp_source {
    SMP_SOURCE_NONE = 0, /* not measured */
    SMP_SOURCE_AUTO,     /* found automatically; for now: the whole photo split in two */
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
    double lab[3];      /* the shade's colour */
    double delta_e;     /* in the chosen metric */
    double delta_e00;   /* always CIEDE2000, for the verdict */
    const char *verdict;
} smp_match;

typedef struct smp_calibration {
    const char *method; /* "none" or "white-roi" */
    smp_rect roi;
    double patch_lab[3];  /* patch as photographed (before adaptation) */
    double spread_de;     /* median ΔE00 of patch pixels from its mean */
    double clipped_share; /* share of patch pixels clipped in any channel */
} smp_calibration;

typedef struct smp_result {
    char *file;
    smp_status status;
    char *error;        /* one line when status != SMP_OK, else NULL */
    struct {
        int width, height;                   /* as displayed */
        int analysed_width, analysed_height; /* pixels the analysis used */
        const char *format;                  /* "jpeg" or "png" */
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
    smp_calibration calibration;
    smp_metric metric;
    smp_model model;
    smp_match *matches;
    size_t n_matches;
    double confidence;           /* 0..1 */
    char **warnings;
    size_t n_warnings;
} smp_result;

/* Analyses one photo (JPEG or PNG, detected from the bytes). *out is always
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
