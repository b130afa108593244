/*
 * main.c: the smpmatch command: options in, one result per photo out.
 *
 * In:  the command line (docs/DESIGN.md "Command line" is the contract).
 * Out: results on stdout in input order (text, JSON Lines or CSV), messages
 *      on stderr, exit status 0 (all photos ok), 1 (a photo failed; the
 *      others are still reported) or 2 (bad usage or an unusable palette).
 * Not: any analysis. Everything a program embedding libsmpmatch would also
 *      want lives in the library; this file parses, walks and prints.
 *
 * With -j N, N threads take photos from a shared counter and each calls
 * smp_analyse_file (thread-safe: the palette is read-only, options are
 * shared and never written). The main thread prints result i as soon as
 * results 0..i are done, so the output is byte-identical to -j 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <jpeglib.h>
#include <lcms2.h>
#include <png.h>
#ifdef SMP_WITH_HEIF
#include <libheif/heif_version.h>
#endif
#ifdef SMP_WITH_TIFF
#include <tiffvers.h>
#endif

#include "inputs.h"
#include "smpmatch.h"

#define PROG "smpmatch"
#define MAX_JOBS 256 /* far past any core count a clinic PC has; bounds thread stacks */

typedef enum out_format { FORMAT_TEXT = 0, FORMAT_JSON, FORMAT_CSV } out_format;

typedef struct file_id {
    dev_t dev;
    ino_t ino;
} file_id;

typedef struct cli {
    smp_options opt;
    const char **palettes; /* -p files in order; the first replaces the built-in one */
    size_t n_palettes;
    out_format format;
    long jobs;
    int quiet, verbose, colour;
    int recursive, nul;        /* -r, -0 */
    const char **lists;        /* --files-from files in order ("-": stdin) */
    size_t n_lists;
    input_list in;             /* the photos, in input order */
    int progress;              /* draw the progress bar on stderr */
    const char *report;        /* --report PATH */
    const char *report_format; /* "pdf" or "png" */
    char **sheets;             /* per photo: the sheet's path, or NULL */
    file_id *ids;              /* the photos' files, sorted (is_input_photo) */
    size_t n_ids;
} cli;

/* Set by SIGINT/SIGTERM: take no new photo, finish the line being written,
 * say what was done and exit 130. The only mutable global of the program:
 * a signal handler can reach nothing else (the library has none). */
static volatile sig_atomic_t interrupted;

/* ------------------------------------------------------------------ */
/* Messages                                                            */
/* ------------------------------------------------------------------ */

/* "smpmatch: <what is wrong> (see smpmatch --help)" and exit status 2. */
static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs(PROG ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see " PROG " --help)\n", stderr);
    return 2;
}

static void print_help(void)
{
    fputs(
        "Usage: smpmatch [OPTIONS] PHOTO|FOLDER...\n"
        "Recommends scalp-micropigmentation pigment shades from consult photos\n"
        "(JPEG, PNG; HEIC, TIFF, WebP where built in: see --version): measures\n"
        "the hair and scalp colour (CIELAB D50) and ranks the palette's shades by\n"
        "colour difference.\n"
        "\n"
        "Options:\n"
        "  -p, --palette FILE      palette file (CSV or CGATS/IT8); the first -p\n"
        "                          replaces the built-in palette, each further -p\n"
        "                          adds its shades\n"
        "  -n, --top N             shades to list (default 5)\n"
        "  -f, --format FMT        text (default) | json (one object per line) | csv\n"
        "  -m, --metric M          de2000 (default) | de94 | de76 | cmc\n"
        "      --model M           healed (default): rank shades by how they are\n"
        "                          predicted to look healed in this client's skin;\n"
        "                          direct: by their bottle colour\n"
        "      --session S         any (default) | first: list only shades that heal\n"
        "                          at or lighter than the hair (start lighter, add\n"
        "                          pigment at later sessions)\n"
        "      --fitzpatrick T     the client's skin type, I to VI, as you judge it\n"
        "                          (never guessed from the photo); used when no\n"
        "                          scalp is measured and in the advice\n"
        "      --veil X            healed model: skin over the pigment, 0 to 1\n"
        "                          (default 0.04; 0 = none); see docs/model.md\n"
        "      --blue-shift X      healed model: blue cast of carbon pigment, 0 to\n"
        "                          0.1 (default 0.004)\n"
        "      --no-mixes          do not look for two-part mixes\n"
        "      --region NAME=X,Y,W,H  measure and match an area on its own\n"
        "                          (hairline, crown, temples ...); repeatable (up\n"
        "                          to 8); a NAME starting with \"scar\" is a scar:\n"
        "                          the shade that hides it on the scar tissue\n"
        "      --hair-roi X,Y,W,H  hair rectangle in pixels of the photo as displayed;\n"
        "                          repeatable (up to 16)\n"
        "      --scalp-roi X,Y,W,H bare-scalp rectangle; repeatable (up to 16)\n"
        "      --hair-mask FILE    PNG mask, same size as the photo, non-zero = hair\n"
        "      --scalp-mask FILE   PNG mask for the bare scalp\n"
        "      --white-roi X,Y,W,H a neutral grey or white reference patch in the photo\n"
        "      --chart X1,Y1,X2,Y2,X3,Y3,X4,Y4  the outer corners of a ColorChecker\n"
        "                          Classic 24's patch grid in the photo, any order\n"
        "                          (docs/chart.md); wins over --white-roi\n"
        "      --max-pixels N      refuse photos over N pixels (default 100000000)\n"
        "      --hair-colour WHICH dominant (default): match the shades against the\n"
        "                          largest group of hair colours (the dark hair in\n"
        "                          salt-and-pepper); all: against all hair pixels\n"
        "                          together\n"
        "      --debug-masks DIR   write what was measured, per photo, into the\n"
        "                          existing folder DIR: NAME.hair.png and\n"
        "                          NAME.scalp.png (white = in the mask) and\n"
        "                          NAME.overlay.png (hair tinted magenta, scalp\n"
        "                          cyan), NAME being the photo's file name without\n"
        "                          its extension\n"
        "  -r, --recursive         analyse the photos in FOLDERs and their subfolders\n"
        "                          (in name order; photos are recognised by their\n"
        "                          content, other files are skipped and counted)\n"
        "      --files-from FILE   also analyse the paths listed in FILE, one per\n"
        "                          line (- = standard input); repeatable\n"
        "  -0, --null              the --files-from lists are NUL-separated\n"
        "                          (find -print0)\n"
        "      --analysis-size N   analyse larger photos reduced by 2, 4 or 8 while\n"
        "                          keeping the long side >= N px (default 1000;\n"
        "                          0 = full resolution)\n"
        "  -j, --jobs N            photos analysed at once (default 1; 0 = one per\n"
        "                          core); the output is the same, in input order;\n"
        "                          a single photo given alone uses two threads\n"
        "      --report PATH       write a consult sheet per photo: PATH ending in\n"
        "                          .pdf or .png for one photo; an existing folder\n"
        "                          for several (one sheet each, named after the\n"
        "                          photo); SOURCE_DATE_EPOCH sets the date printed\n"
        "      --report-format F   pdf (default) | png: the sheets' format in a folder\n"
        "  -q, --quiet             on stderr only the errors stdout does not carry\n"
        "  -v, --verbose           palette, timing and per-photo notes on stderr\n"
        "      --version           versions of smpmatch and of the libraries it was\n"
        "                          built with\n"
        "  -h, --help              this help\n"
        "\n"
        "Output: text results are separated by a blank line, and a photo that fails\n"
        "prints \"smpmatch: <file>: <cause>\" on stderr. With json and csv a failed\n"
        "photo is also a record on stdout (status \"error\" and its message), so\n"
        "scripts see every photo; the CSV header comes once; warnings go to stderr.\n"
        "Colour swatches are drawn only when stdout is a terminal and NO_COLOR is\n"
        "unset or empty.\n"
        "\n"
        "On a terminal, a batch shows a progress bar on stderr (not with --quiet);\n"
        "several photos end with a summary line (ok, failed, skipped, seconds).\n"
        "Ctrl-C stops after the record being written: every line on stdout is\n"
        "whole, and the exit status is 130.\n"
        "\n"
        "Exit status: 0 every photo ok; 1 at least one photo failed (the others are\n"
        "still processed and reported); 2 bad usage or an unusable palette; 130\n"
        "interrupted.\n"
        "\n"
        "Examples:\n"
        "  smpmatch consult.jpg\n"
        "  smpmatch --hair-roi 1200,400,600,300 --scalp-roi 1300,900,400,200 consult.jpg\n"
        "  smpmatch -p clinic.csv -n 3 --white-roi 50,50,120,120 consult.jpg\n"
        "  smpmatch -j 0 --format json consults/*.jpg > results.jsonl\n"
        "  smpmatch -r -j 0 -f json archive/ > results.jsonl\n"
        "  find archive -name '*.jpg' -print0 | smpmatch -0 --files-from - -f json\n"
        "  smpmatch --debug-masks masks/ --hair-colour all consult.jpg\n"
        "  smpmatch --session first --fitzpatrick II consult.jpg\n"
        "  smpmatch --region temples=100,80,400,300 --region scar=900,600,200,80 consult.jpg\n",
        stdout);
}

static void print_version(void)
{
    /* The versions of the headers this binary was compiled against. */
    printf("smpmatch %s\n", SMP_VERSION);
#ifdef LIBJPEG_TURBO_VERSION_NUMBER
    printf("libjpeg-turbo %d.%d.%d\n", LIBJPEG_TURBO_VERSION_NUMBER / 1000000,
           LIBJPEG_TURBO_VERSION_NUMBER / 1000 % 1000, LIBJPEG_TURBO_VERSION_NUMBER % 1000);
#else
    printf("libjpeg (API %d)\n", JPEG_LIB_VERSION);
#endif
    printf("libpng %s\n", PNG_LIBPNG_VER_STRING);
    printf("LittleCMS %d.%d\n", LCMS_VERSION / 1000, LCMS_VERSION / 10 % 100);
    printf("jansson %s\n", JANSSON_VERSION);
    /* The photo formats built in (CMake SMP_WITH_HEIF/TIFF/WEBP). */
#ifdef SMP_WITH_HEIF
    printf("libheif %s\n", LIBHEIF_VERSION);
#endif
#ifdef SMP_WITH_TIFF
    printf("libtiff %d.%d.%d\n", TIFFLIB_MAJOR_VERSION, TIFFLIB_MINOR_VERSION,
           TIFFLIB_MICRO_VERSION);
#endif
#ifdef SMP_WITH_WEBP
    printf("libwebp %s\n", SMP_WEBP_VERSION);
#endif
    fputs("formats: jpeg png", stdout);
#ifdef SMP_WITH_HEIF
    fputs(" heic", stdout);
#endif
#ifdef SMP_WITH_TIFF
    fputs(" tiff", stdout);
#endif
#ifdef SMP_WITH_WEBP
    fputs(" webp", stdout);
#endif
    fputs("\n", stdout);
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/* A whole-string decimal integer in [min, max]; 0 on success. */
static int parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno == ERANGE || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* The index of `arg` in a NULL-terminated list of words, or -1. */
static int choice(const char *arg, const char *const words[])
{
    for (int i = 0; words[i]; i++)
        if (strcmp(arg, words[i]) == 0)
            return i;
    return -1;
}

static int parse_double(const char *s, double min, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !(v >= min && v <= max))
        return -1;
    *out = v;
    return 0;
}

/* --fitzpatrick: I..VI as technicians write it, or 1..6. */
static int parse_fitzpatrick(const char *s)
{
    static const char *const roman[6] = {"I", "II", "III", "IV", "V", "VI"};
    for (int i = 0; i < 6; i++)
        if (strcasecmp(s, roman[i]) == 0 || (s[0] == '1' + i && s[1] == '\0'))
            return i + 1;
    return 0;
}

static int parse_area(const char *arg, smp_options *opt)
{
    if (opt->n_areas >= SMP_MAX_AREAS)
        return usage_error("at most %d --region areas", SMP_MAX_AREAS);
    if (smp_area_parse(arg, &opt->areas[opt->n_areas]) != 0)
        return usage_error("--region wants NAME=X,Y,W,H (a name of letters, digits, - or _, up to "
                           "%d characters; W and H above 0), not \"%s\"",
                           SMP_AREA_NAME_MAX - 1, arg);
    for (size_t i = 0; i < opt->n_areas; i++)
        if (strcmp(opt->areas[i].name, opt->areas[opt->n_areas].name) == 0)
            return usage_error("--region: the name \"%s\" is given twice", opt->areas[i].name);
    opt->n_areas++;
    return 0;
}

static int parse_roi(const char *opt_name, const char *arg, smp_rect *rois, size_t *n)
{
    if (*n >= SMP_MAX_ROIS)
        return usage_error("at most %d --%s rectangles", SMP_MAX_ROIS, opt_name);
    if (smp_rect_parse(arg, &rois[*n]) != 0)
        return usage_error("--%s wants X,Y,W,H in pixels (W and H above 0), not \"%s\"", opt_name, arg);
    (*n)++;
    return 0;
}

/* --chart X1,Y1,..,X4,Y4: eight plain non-negative numbers (decimals
 * allowed: corners picked in an image viewer may fall between pixels). */
static int parse_chart(const char *arg, double out[8])
{
    const char *p = arg;
    for (int i = 0; i < 8; i++) {
        char *end;
        if (*p < '0' || *p > '9')
            break; /* no sign, no space */
        out[i] = strtod(p, &end);
        p = end;
        if (i == 7 && !*p && out[i] <= 1e6)
            return 0;
        if (*p++ != ',' || out[i] > 1e6) /* 10^6 px: larger than any photo we accept */
            break;
    }
    return usage_error("--chart wants the four corners X1,Y1,X2,Y2,X3,Y3,X4,Y4 in pixels, not \"%s\"",
                       arg);
}

/* --debug-masks DIR: checked here, once, so that a mistyped folder is a
 * usage error before any photo rather than the same error on every photo. */
static int set_debug_masks(cli *c, const char *dir)
{
    struct stat st;
    if (!dir[0])
        return usage_error("--debug-masks wants a folder");
    if (stat(dir, &st) != 0)
        return usage_error("--debug-masks: the folder \"%s\" %s", dir,
                           errno == ENOENT ? "does not exist (create it first)"
                                           : "cannot be reached (check its permissions)");
    if (!S_ISDIR(st.st_mode))
        return usage_error("--debug-masks: \"%s\" is not a folder", dir);
    c->opt.debug_masks_dir = dir;
    return 0;
}

enum {
    OPT_MODEL = 256,
    OPT_HAIR_ROI,
    OPT_SCALP_ROI,
    OPT_HAIR_MASK,
    OPT_SCALP_MASK,
    OPT_WHITE_ROI,
    OPT_CHART,
    OPT_MAX_PIXELS,
    OPT_REPORT,
    OPT_REPORT_FORMAT,
    OPT_HAIR_COLOUR,
    OPT_DEBUG_MASKS,
    OPT_VEIL,
    OPT_BLUE_SHIFT,
    OPT_FITZPATRICK,
    OPT_SESSION,
    OPT_NO_MIXES,
    OPT_REGION,
    OPT_FILES_FROM,
    OPT_ANALYSIS_SIZE,
    OPT_VERSION
};

static const struct option long_options[] = {
    {"palette", required_argument, NULL, 'p'},
    {"top", required_argument, NULL, 'n'},
    {"format", required_argument, NULL, 'f'},
    {"metric", required_argument, NULL, 'm'},
    {"model", required_argument, NULL, OPT_MODEL},
    {"hair-roi", required_argument, NULL, OPT_HAIR_ROI},
    {"scalp-roi", required_argument, NULL, OPT_SCALP_ROI},
    {"hair-mask", required_argument, NULL, OPT_HAIR_MASK},
    {"scalp-mask", required_argument, NULL, OPT_SCALP_MASK},
    {"white-roi", required_argument, NULL, OPT_WHITE_ROI},
    {"chart", required_argument, NULL, OPT_CHART},
    {"max-pixels", required_argument, NULL, OPT_MAX_PIXELS},
    {"jobs", required_argument, NULL, 'j'},
    {"report", required_argument, NULL, OPT_REPORT},
    {"report-format", required_argument, NULL, OPT_REPORT_FORMAT},
    {"hair-colour", required_argument, NULL, OPT_HAIR_COLOUR},
    {"debug-masks", required_argument, NULL, OPT_DEBUG_MASKS},
    {"veil", required_argument, NULL, OPT_VEIL},
    {"blue-shift", required_argument, NULL, OPT_BLUE_SHIFT},
    {"fitzpatrick", required_argument, NULL, OPT_FITZPATRICK},
    {"session", required_argument, NULL, OPT_SESSION},
    {"no-mixes", no_argument, NULL, OPT_NO_MIXES},
    {"region", required_argument, NULL, OPT_REGION},
    {"recursive", no_argument, NULL, 'r'},
    {"files-from", required_argument, NULL, OPT_FILES_FROM},
    {"null", no_argument, NULL, '0'},
    {"analysis-size", required_argument, NULL, OPT_ANALYSIS_SIZE},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, OPT_VERSION},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

/* The option as the user typed it, for messages about a missing value or
 * an unknown option. */
static const char *typed_option(char **argv)
{
    const char *a = argv[optind - 1];
    return a ? a : "?";
}

/* One option; returns 0, 2 (usage error, already reported) or -1 (help or
 * version printed: exit 0). */
static int apply_option(cli *c, int ch, char **argv)
{
    long v;
    int m;
    switch (ch) {
    case 'p':
        c->palettes[c->n_palettes++] = optarg;
        return 0;
    case 'n':
        /* 10000 = the palette entry limit (src/palette.h) */
        if (parse_long(optarg, 1, 10000, &v) != 0)
            return usage_error("--top wants a whole number from 1 to 10000, not \"%s\"", optarg);
        c->opt.top = (int)v;
        return 0;
    case 'f': {
        static const char *const formats[] = {"text", "json", "csv", NULL}; /* out_format order */
        if ((m = choice(optarg, formats)) < 0)
            return usage_error("--format is text, json or csv, not \"%s\"", optarg);
        c->format = (out_format)m;
        return 0;
    }
    case 'm':
        if ((m = smp_metric_parse(optarg)) < 0)
            return usage_error("--metric is de2000, de94, de76 or cmc, not \"%s\"", optarg);
        c->opt.metric = (smp_metric)m;
        return 0;
    case OPT_MODEL: {
        static const char *const models[] = {"healed", "direct", NULL}; /* smp_model order */
        if ((m = choice(optarg, models)) < 0)
            return usage_error("--model is healed or direct, not \"%s\"", optarg);
        c->opt.model = (smp_model)m;
        return 0;
    }
    case OPT_HAIR_ROI:
        return parse_roi("hair-roi", optarg, c->opt.hair_roi, &c->opt.n_hair_roi);
    case OPT_SCALP_ROI:
        return parse_roi("scalp-roi", optarg, c->opt.scalp_roi, &c->opt.n_scalp_roi);
    case OPT_WHITE_ROI:
        if (smp_rect_parse(optarg, &c->opt.white_roi) != 0)
            return usage_error("--white-roi wants X,Y,W,H in pixels (W and H above 0), not \"%s\"", optarg);
        c->opt.has_white_roi = 1;
        return 0;
    case OPT_CHART:
        c->opt.has_chart = 1;
        return parse_chart(optarg, c->opt.chart);
    case OPT_HAIR_MASK:
        c->opt.hair_mask = optarg;
        return 0;
    case OPT_SCALP_MASK:
        c->opt.scalp_mask = optarg;
        return 0;
    case OPT_MAX_PIXELS:
        if (parse_long(optarg, 1, LONG_MAX, &v) != 0)
            return usage_error("--max-pixels wants a whole number above 0, not \"%s\"", optarg);
        c->opt.max_pixels = (size_t)v;
        return 0;
    case 'j':
        if (parse_long(optarg, 0, MAX_JOBS, &v) != 0)
            return usage_error("--jobs wants a whole number from 0 to %d, not \"%s\"", MAX_JOBS, optarg);
        c->jobs = v;
        return 0;
    case OPT_HAIR_COLOUR: {
        static const char *const groups[] = {"dominant", "all", NULL};
        if ((m = choice(optarg, groups)) < 0)
            return usage_error("--hair-colour is dominant or all, not \"%s\"", optarg);
        c->opt.match_cluster = m == 0 ? 0 : -1; /* -1: all hair pixels (smp_options) */
        return 0;
    }
    case OPT_DEBUG_MASKS:
        return set_debug_masks(c, optarg);
    case OPT_VEIL:
        /* 1 is already thicker than any skin over SMP pigment (docs/model.md) */
        if (parse_double(optarg, 0.0, 1.0, &c->opt.veil) != 0)
            return usage_error("--veil wants a number from 0 to 1 (default %g), not \"%s\"",
                               SMP_DEFAULT_VEIL, optarg);
        return 0;
    case OPT_BLUE_SHIFT:
        if (parse_double(optarg, 0.0, 0.1, &c->opt.blue_shift) != 0)
            return usage_error("--blue-shift wants a number from 0 to 0.1 (default %g), not \"%s\"",
                               SMP_DEFAULT_BLUE_SHIFT, optarg);
        return 0;
    case OPT_FITZPATRICK:
        if ((c->opt.fitzpatrick = parse_fitzpatrick(optarg)) == 0)
            return usage_error("--fitzpatrick is a skin type from I to VI, not \"%s\"", optarg);
        return 0;
    case OPT_SESSION: {
        static const char *const sessions[] = {"any", "first", NULL}; /* smp_session order */
        if ((m = choice(optarg, sessions)) < 0)
            return usage_error("--session is first or any, not \"%s\"", optarg);
        c->opt.session = (smp_session)m;
        return 0;
    }
    case OPT_NO_MIXES:
        c->opt.recipes = 0;
        return 0;
    case OPT_REGION:
        return parse_area(optarg, &c->opt);
    case 'r':
        c->recursive = 1;
        return 0;
    case '0':
        c->nul = 1;
        return 0;
    case OPT_FILES_FROM:
        c->lists[c->n_lists++] = optarg;
        return 0;
    case OPT_ANALYSIS_SIZE:
        /* 100000: past any sensor; 0 = full resolution */
        if (parse_long(optarg, 0, 100000, &v) != 0)
            return usage_error("--analysis-size wants a whole number of pixels from 0 (full "
                               "resolution) to 100000, not \"%s\"", optarg);
        c->opt.analysis_size = (int)v;
        return 0;
    case OPT_REPORT:
        c->report = optarg;
        return 0;
    case OPT_REPORT_FORMAT:
        if (choice(optarg, (const char *const[]){"pdf", "png", NULL}) < 0)
            return usage_error("--report-format is pdf or png, not \"%s\"", optarg);
        c->report_format = optarg;
        return 0;
    case 'q':
        c->quiet = 1;
        return 0;
    case 'v':
        c->verbose = 1;
        return 0;
    case OPT_VERSION:
        print_version();
        return -1;
    case 'h':
        print_help();
        return -1;
    case ':':
        return usage_error("%s needs a value", typed_option(argv));
    default:
        if (optopt && optopt < 256)
            return usage_error("unknown option -%c", optopt);
        return usage_error("unknown option %s", typed_option(argv));
    }
}

/* Why a --files-from list cannot be read, in words. */
static const char *list_cause(int e)
{
    switch (e) {
    case ENOENT: return "no such file";
    case EACCES: return "permission denied (the list cannot be read)";
    case EISDIR: return "is a folder, not a list of photos";
    case EIO: return "the disk could not be read";
    default: return "could not be read";
    }
}

/* The photo list: arguments first, then each --files-from list. A list
 * that cannot be read is a usage error (exit 2): nothing was analysed. */
static int collect_inputs(cli *c, int argc, char **argv)
{
    int stdin_used = 0;
    for (int i = optind; i < argc; i++)
        if (inputs_add(&c->in, argv[i], c->recursive) != 0)
            goto nomem;
    for (size_t k = 0; k < c->n_lists; k++) {
        const char *name = c->lists[k];
        int is_stdin = strcmp(name, "-") == 0;
        if (is_stdin && stdin_used++)
            return usage_error("--files-from - (standard input) can be given only once");
        FILE *f = is_stdin ? stdin : fopen(name, "r");
        if (!f) {
            fprintf(stderr, PROG ": --files-from %s: %s\n", name, list_cause(errno));
            return 2;
        }
        int rc = inputs_add_list(&c->in, f, c->nul, c->recursive);
        int saved = errno;
        if (!is_stdin)
            fclose(f);
        if (rc != 0) {
            if (saved == ENOMEM)
                goto nomem;
            fprintf(stderr, PROG ": --files-from %s: %s\n", is_stdin ? "- (standard input)" : name,
                    list_cause(saved));
            return 2;
        }
    }
    return 0;
nomem:
    fputs(PROG ": out of memory while listing the photos\n", stderr);
    return 2;
}

static int has_extension(const char *path, const char *ext)
{
    size_t n = strlen(path), e = strlen(ext);
    return n > e && strcasecmp(path + n - e, ext) == 0;
}

static int by_file_id(const void *pa, const void *pb)
{
    const file_id *a = pa, *b = pb;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    return (a->ino > b->ino) - (a->ino < b->ino);
}

/* The photos' device and inode numbers, sorted, so that an output path can
 * be checked against every photo with one stat and a binary search (a batch
 * of 100,000 photos stays fast). Returns 0, or 2 when memory runs out. */
static int collect_ids(cli *c)
{
    c->ids = malloc((c->in.n ? c->in.n : 1) * sizeof *c->ids);
    if (!c->ids)
        return usage_error("out of memory");
    for (size_t i = 0; i < c->in.n; i++) {
        struct stat st;
        if (stat(c->in.items[i].path, &st) == 0)
            c->ids[c->n_ids++] = (file_id){st.st_dev, st.st_ino};
    }
    qsort(c->ids, c->n_ids, sizeof *c->ids, by_file_id);
    return 0;
}

/* Is `path` one of the photos being analysed (the same file, by device and
 * inode, whatever the spelling of the path)? Outputs never replace a photo:
 * a sheet or a debug mask that would is renamed or refused. */
static int is_input_photo(const cli *c, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0; /* does not exist yet: nothing to overwrite */
    file_id key = {st.st_dev, st.st_ino};
    return bsearch(&key, c->ids, c->n_ids, sizeof *c->ids, by_file_id) != NULL;
}

/* The photo's file name without its folder and extension, as the masks
 * and sheets are named: "a/consult7.jpg" -> *base "consult7.jpg", returns
 * the length of "consult7" (a leading dot, ".jpg", is part of the name). */
static size_t name_stem(const char *path, const char **base)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    const char *dot = strrchr(b, '.');
    *base = b;
    return dot && dot != b ? (size_t)(dot - b) : strlen(b);
}

/* --debug-masks DIR: the masks are named after each photo (NAME.hair.png,
 * NAME.scalp.png, NAME.overlay.png, src/debug.c); refuses, before anything
 * is analysed, a folder where one of them is a photo of this batch. */
static int check_masks(const cli *c)
{
    static const char *const suffix[] = {".hair.png", ".scalp.png", ".overlay.png"};
    const char *dir = c->opt.debug_masks_dir;
    if (!dir)
        return 0;
    for (size_t i = 0; i < c->in.n; i++) {
        const char *base;
        int stem = (int)name_stem(c->in.items[i].path, &base);
        for (size_t k = 0; k < sizeof suffix / sizeof *suffix; k++) {
            char p[PATH_MAX];
            int n = snprintf(p, sizeof p, "%s/%.*s%s", dir, stem, base, suffix[k]);
            if (n > 0 && (size_t)n < sizeof p && is_input_photo(c, p))
                return usage_error("--debug-masks %s: the mask %s would replace one of the photos; "
                                   "choose another folder", dir, p);
        }
    }
    return 0;
}

/* --report: one sheet per photo. PATH is a .pdf/.png file for a single
 * photo, or an existing folder: each sheet is named after its photo
 * (consult7.jpg -> consult7.pdf), "-2", "-3" ... added when two photos of
 * the batch share a name or when the name is taken by one of the photos
 * (consult7.png's PNG sheet in its own folder: consult7-2.png). Checked
 * before any photo is analysed. */
static int plan_sheets(cli *c)
{
    if (!c->report)
        return 0;
    struct stat st;
    int is_dir = stat(c->report, &st) == 0 && S_ISDIR(st.st_mode);
    const char *fmt = c->report_format ? c->report_format : "pdf";
    if (!is_dir) {
        if (c->in.n != 1)
            return usage_error("--report %s: with several photos, give an existing folder for the "
                               "sheets", c->report);
        if (!has_extension(c->report, ".pdf") && !has_extension(c->report, ".png"))
            return usage_error("--report %s: the sheet's name must end in .pdf or .png (or give a "
                               "folder)", c->report);
        if (is_input_photo(c, c->report))
            return usage_error("--report %s: that is the photo itself; give the sheet another name",
                               c->report);
    }
    c->sheets = calloc(c->in.n ? c->in.n : 1, sizeof *c->sheets);
    if (!c->sheets)
        return usage_error("out of memory");
    for (size_t i = 0; i < c->in.n; i++) {
        if (!is_dir) {
            c->sheets[i] = strdup(c->report);
        } else {
            const char *base;
            size_t stem = name_stem(c->in.items[i].path, &base);
            size_t n = strlen(c->report) + stem + 32;
            char *p = malloc(n);
            for (int k = 1; p; k++) {
                snprintf(p, n, "%s/%.*s%s%.0d.%s", c->report, (int)stem, base, k > 1 ? "-" : "",
                         k > 1 ? k : 0, fmt);
                size_t j = 0;
                while (j < i && strcmp(c->sheets[j], p) != 0)
                    j++;
                if (j == i && !is_input_photo(c, p))
                    break;
            }
            c->sheets[i] = p;
        }
        if (!c->sheets[i])
            return usage_error("out of memory");
    }
    return 0;
}

/* Fills c from argv; returns 0, 2 (usage error) or -1 (help/version done). */
static int parse_args(cli *c, int argc, char **argv)
{
    smp_options_init(&c->opt);
    c->jobs = 1;
    c->palettes = calloc((size_t)argc, sizeof *c->palettes);
    c->lists = calloc((size_t)argc, sizeof *c->lists);
    if (!c->palettes || !c->lists) {
        fputs(PROG ": out of memory\n", stderr);
        return 2;
    }
    opterr = 0; /* our own one-line messages */
    int ch;
    while ((ch = getopt_long(argc, argv, ":p:n:f:m:j:qvhr0", long_options, NULL)) != -1) {
        int rc = apply_option(c, ch, argv);
        if (rc != 0)
            return rc;
    }
    if (c->quiet && c->verbose)
        return usage_error("--quiet and --verbose cannot both be given");
    /* A mask and rectangles of one kind: which to measure would be a guess. */
    if (c->opt.hair_mask && c->opt.n_hair_roi)
        return usage_error("--hair-mask and --hair-roi cannot both be given");
    if (c->opt.scalp_mask && c->opt.n_scalp_roi)
        return usage_error("--scalp-mask and --scalp-roi cannot both be given");
    if (c->nul && c->n_lists == 0)
        return usage_error("-0 reads NUL-separated --files-from lists: give --files-from too");
    if (optind == argc && c->n_lists == 0)
        return usage_error("no photo given");
    int rc = collect_inputs(c, argc, argv);
    if (rc == 0 && (c->report || c->opt.debug_masks_dir))
        rc = collect_ids(c);
    if (rc == 0)
        rc = check_masks(c);
    return rc != 0 ? rc : plan_sheets(c);
}

/* The built-in palette, or the -p files: first replaces, others append. */
static int load_palette(const cli *c, smp_palette **out)
{
    smp_error err = {0};
    smp_palette *pal = NULL;
    if (c->n_palettes == 0) {
        if (smp_palette_new_default(&pal, &err) != SMP_OK) {
            fprintf(stderr, PROG ": %s\n", err.message);
            return 2;
        }
    }
    for (size_t i = 0; i < c->n_palettes; i++) {
        smp_palette *more = NULL;
        if (smp_palette_load(c->palettes[i], &more, &err) != SMP_OK ||
            (pal && smp_palette_append(pal, more, &err) != SMP_OK)) {
            fprintf(stderr, PROG ": %s\n", err.message);
            if (more != pal)
                smp_palette_free(more);
            smp_palette_free(pal);
            return 2;
        }
        if (!pal)
            pal = more;
        else
            smp_palette_free(more);
    }
    size_t pigments = 0;
    for (size_t i = 0; i < smp_palette_size(pal); i++)
        pigments += smp_palette_get(pal, i)->kind == SMP_KIND_PIGMENT;
    if (pigments == 0) {
        fprintf(stderr, PROG ": the palette has no pigment shades to compare with (only diluents)\n");
        smp_palette_free(pal);
        return 2;
    }
    /* Once, before any photo: they are about the palette, not a photo.
     * --quiet keeps stderr to the errors stdout does not carry. */
    for (size_t i = 0; i < smp_palette_warning_count(pal) && !c->quiet; i++)
        fprintf(stderr, PROG ": warning: %s\n", smp_palette_warning(pal, i));
    *out = pal;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Running photos                                                      */
/* ------------------------------------------------------------------ */

typedef struct slot {
    smp_result *result; /* NULL: not analysed (out of memory, or a listed folder) */
    double ms;          /* analysis time, for --verbose */
    int done;
} slot;

typedef struct batch {
    const cli *c;
    const smp_palette *palette;
    slot *slots;
    size_t next;        /* next photo to take; under `lock` */
    int threads;        /* smp_options.threads for each photo (photo_threads) */
    pthread_mutex_t lock;
    pthread_cond_t ready; /* signalled when a slot is done */
} batch;

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ws: the calling thread's own workspace, or NULL. Each worker thread has
 * one: without, 200 photos at -j 2 peaked at 197 MB and 800 at 351 MB
 * (threads' malloc arenas kept the holes photo-sized buffers left); with,
 * 75 MB for both. One thread (-j 1) passes NULL, so that each photo gets
 * the library's own workspace and gives it all back: 29 MB over 200
 * photos, against 39 MB for a workspace kept across photos (which holds a
 * block per buffer size). The results are the same either way. */
static void analyse(batch *b, size_t i, slot *s, smp_workspace *ws)
{
    const input *in = &b->c->in.items[i];
    double t0 = now_ms();
    smp_result *res = NULL;
    if (!in->error) {
        smp_options opt = b->c->opt; /* the sheet's path is this photo's own */
        opt.report_path = b->c->sheets ? b->c->sheets[i] : NULL;
        opt.workspace = ws;
        opt.threads = b->threads;
        smp_analyse_file(in->path, b->palette, &opt, &res);
    }
    s->result = res;
    s->ms = now_ms() - t0;
}

static void *worker(void *arg)
{
    batch *b = arg;
    size_t n = b->c->in.n;
    smp_workspace *ws = NULL;
    smp_workspace_new(&ws);
    for (;;) {
        pthread_mutex_lock(&b->lock);
        size_t i = b->next < n && !interrupted ? b->next++ : n;
        pthread_mutex_unlock(&b->lock);
        if (i >= n) {
            smp_workspace_free(ws);
            /* the reporting thread may be waiting for a photo no one will
             * take now (Ctrl-C): let it look again */
            pthread_mutex_lock(&b->lock);
            pthread_cond_broadcast(&b->ready);
            pthread_mutex_unlock(&b->lock);
            return NULL;
        }
        slot s = {0};
        analyse(b, i, &s, ws);
        pthread_mutex_lock(&b->lock);
        b->slots[i] = s;
        b->slots[i].done = 1;
        pthread_cond_broadcast(&b->ready);
        pthread_mutex_unlock(&b->lock);
    }
}

typedef struct tally {
    size_t ok, failed, printed;
    double t0;        /* when the batch started, ms */
    int bar_shown;    /* the progress line is on the terminal now */
} tally;

/* ------------------------------------------------------------------ */
/* Progress (stderr, terminals only)                                   */
/* ------------------------------------------------------------------ */

static void bar_clear(const cli *c, tally *t)
{
    if (c->progress && t->bar_shown) {
        fputs("\r\033[K", stderr); /* back to the line start, erase it */
        t->bar_shown = 0;
    }
}

/* "[#######.............]  12/50  3.1 photos/s  0:12 left" */
static void bar_draw(const cli *c, tally *t)
{
    if (!c->progress)
        return;
    size_t done = t->ok + t->failed, total = c->in.n;
    double secs = (now_ms() - t->t0) / 1e3;
    double rate = secs > 0 ? (double)done / secs : 0;
    char bar[21];
    size_t fill = total ? done * 20 / total : 20;
    for (size_t i = 0; i < 20; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[20] = '\0';
    fprintf(stderr, "\r[%s] %zu/%zu  %.1f photos/s", bar, done, total, rate);
    if (rate > 0 && done < total) {
        long left = (long)((double)(total - done) / rate + 0.5);
        fprintf(stderr, "  %ld:%02ld left", left / 60, left % 60);
    }
    fputs("\033[K", stderr);
    fflush(stderr);
    t->bar_shown = 1;
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

/* Prints one photo's result in the chosen format and counts it. */
static void report(const cli *c, const input *in, const slot *s, tally *t)
{
    const char *path = in->path;
    const smp_result *r = s->result;
    smp_result stand_in; /* when not even a result could be made */
    char stand_in_msg[SMP_ERROR_MAX + 128];
    if (!r) {
        memset(&stand_in, 0, sizeof stand_in);
        snprintf(stand_in_msg, sizeof stand_in_msg, "%s: %s", path,
                 in->error ? in->error : "out of memory");
        stand_in.file = (char *)path;
        stand_in.status = in->error ? SMP_E_ARG : SMP_E_NOMEM;
        stand_in.error = stand_in_msg;
        r = &stand_in;
    }
    /* A sheet that was asked for and not written fails the photo's run
     * (its results are still printed, and the warning says why). */
    int sheet_missing = r->status == SMP_OK && c->sheets && c->sheets[in - c->in.items] &&
                        !r->report_written;
    int ok = r->status == SMP_OK && !sheet_missing;
    if (ok)
        t->ok++;
    else
        t->failed++;

    char *text = NULL;
    if (c->format == FORMAT_JSON)
        text = smp_result_to_json(r);
    else if (c->format == FORMAT_CSV)
        text = smp_result_to_csv(r);
    else
        text = smp_result_to_text(r, r->status == SMP_OK && c->colour);

    bar_clear(c, t);
    if (!text) {
        fprintf(stderr, PROG ": %s: out of memory while writing the result\n", path);
        if (ok) {
            t->ok--;
            t->failed++;
        }
        return;
    }
    if (c->format == FORMAT_TEXT && r->status != SMP_OK) {
        fprintf(stderr, PROG ": %s", text); /* one line, ends in "\n" */
    } else {
        if (c->format == FORMAT_TEXT && t->printed++)
            fputs("\n", stdout);
        /* One write of a whole record, then flush: an interrupted batch
         * never leaves half a line behind. */
        fputs(text, stdout);
        if (c->format == FORMAT_JSON)
            fputs("\n", stdout);
        fflush(stdout);
        if (r->status != SMP_OK && !c->quiet)
            fprintf(stderr, PROG ": %s\n", r->error ? r->error : smp_status_string(r->status));
        /* In text mode the warnings are in the block; elsewhere say them here. */
        if (c->format != FORMAT_TEXT && !c->quiet)
            for (size_t i = 0; i < r->n_warnings; i++)
                fprintf(stderr, PROG ": %s: warning: %s\n", path, r->warnings[i]);
    }
    free(text);
    if (sheet_missing) /* the warning is in the text block or on stderr; say it even with -q */
        fprintf(stderr, PROG ": %s: the consult sheet %s was not written\n", path,
                c->sheets[in - c->in.items]);
    if (c->verbose)
        fprintf(stderr, PROG ": %s: %s in %.0f ms\n", path, ok ? "analysed" : "failed", s->ms);
}

/* Starts up to `jobs` threads; returns how many started (0: run inline). */
static size_t start_workers(batch *b, pthread_t *threads, size_t jobs)
{
    size_t started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&threads[started], NULL, worker, b) != 0)
            break;
    return started;
}

static size_t jobs_wanted(const cli *c)
{
    long j = c->jobs;
    if (j == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        j = n > 0 ? n : 1;
    }
    if (j > MAX_JOBS)
        j = MAX_JOBS;
    return (size_t)j < c->in.n ? (size_t)j : c->in.n;
}

/* A lone photo is analysed with two threads when the machine has two
 * cores or more: a technician waiting for one answer gets it sooner, and
 * nothing else of ours wants the second core. Photos of a batch take one
 * thread each, and -j sets how many run at once: across photos the cores
 * are used without any waiting between parts of a photo. */
static int photo_threads(size_t photos)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    return photos == 1 && cores >= 2 ? 2 : 1;
}

static void run_batch(const cli *c, const smp_palette *pal, tally *t)
{
    size_t n = c->in.n;
    batch b = {.c = c, .palette = pal, .threads = photo_threads(n)};
    b.slots = calloc(n ? n : 1, sizeof *b.slots);
    size_t jobs = jobs_wanted(c);
    pthread_t *threads = jobs > 1 ? calloc(jobs, sizeof *threads) : NULL;
    pthread_mutex_init(&b.lock, NULL);
    pthread_cond_init(&b.ready, NULL);
    size_t started = threads && b.slots ? start_workers(&b, threads, jobs) : 0;
    if (c->verbose)
        fprintf(stderr, PROG ": %zu photo%s, %zu at once\n", n, n == 1 ? "" : "s",
                started ? started : 1);

    bar_draw(c, t);
    for (size_t i = 0; i < n && !interrupted; i++) {
        slot s = {0};
        if (started) {
            pthread_mutex_lock(&b.lock);
            while (!b.slots[i].done && !(interrupted && b.next <= i))
                pthread_cond_wait(&b.ready, &b.lock);
            if (!b.slots[i].done) { /* interrupted before any thread took it */
                pthread_mutex_unlock(&b.lock);
                break;
            }
            s = b.slots[i];
            b.slots[i].result = NULL; /* reported here, freed below */
            pthread_mutex_unlock(&b.lock);
        } else {
            analyse(&b, i, &s, NULL); /* -j 1, or no thread could start */
        }
        report(c, &c->in.items[i], &s, t);
        smp_result_free(s.result);
        bar_draw(c, t);
    }
    bar_clear(c, t);
    /* Interrupted: the workers take no new photo; the ones they are in the
     * middle of are finished and dropped. */
    for (size_t k = 0; k < started; k++)
        pthread_join(threads[k], NULL);
    for (size_t i = 0; i < n && b.slots; i++)
        smp_result_free(b.slots[i].result);
    pthread_cond_destroy(&b.ready);
    pthread_mutex_destroy(&b.lock);
    free(threads);
    free(b.slots);
}

/* Sanitizer builds only (LeakSanitizer calls it; otherwise unused):
 * fontconfig, behind cairo's text on the consult sheet, keeps process-wide
 * caches until exit, which are not leaks of ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void catch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* Writes in progress complete; a second Ctrl-C stops at once (the
     * handler is reset to the default action once it has run). */
    sa.sa_flags = SA_RESTART | SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* "smpmatch: 50 photos: 47 ok, 2 failed, 3 skipped (not photos), 12.3 s" */
static void summary(const cli *c, const tally *t)
{
    size_t n = c->in.n, done = t->ok + t->failed;
    if (c->quiet || (n <= 1 && c->in.skipped == 0 && c->in.unwalked == 0 && !interrupted))
        return;
    fprintf(stderr, PROG ": %s%zu photo%s: %zu ok, %zu failed", interrupted ? "interrupted: " : "", n,
            n == 1 ? "" : "s", t->ok, t->failed);
    if (done < n)
        fprintf(stderr, ", %zu not analysed", n - done);
    if (c->in.skipped)
        fprintf(stderr, ", %zu skipped (not photos)", c->in.skipped);
    if (c->in.unwalked)
        fprintf(stderr, ", %zu link%s to folders not followed", c->in.unwalked,
                c->in.unwalked == 1 ? "" : "s");
    fprintf(stderr, ", %.1f s\n", (now_ms() - t->t0) / 1e3);
}

static void free_cli(cli *c)
{
    for (size_t i = 0; c->sheets && i < c->in.n; i++)
        free(c->sheets[i]);
    free(c->sheets);
    free(c->ids);
    free(c->palettes);
    free(c->lists);
    inputs_free(&c->in);
}

int main(int argc, char **argv)
{
    cli c = {0};
    int rc = parse_args(&c, argc, argv);
    if (rc != 0) {
        free_cli(&c);
        return rc < 0 ? 0 : rc;
    }
    const char *no_color = getenv("NO_COLOR"); /* https://no-color.org */
    const char *term = getenv("TERM");
    c.colour = isatty(STDOUT_FILENO) && !(no_color && no_color[0]) && !(term && strcmp(term, "dumb") == 0);
    c.progress = !c.quiet && !c.verbose && c.in.n > 1 && isatty(STDERR_FILENO) &&
                 !(term && strcmp(term, "dumb") == 0);

    smp_palette *pal = NULL;
    if ((rc = load_palette(&c, &pal)) != 0) {
        free_cli(&c);
        return rc;
    }
    if (c.verbose)
        fprintf(stderr, PROG ": palette: %zu shades (%s)\n", smp_palette_size(pal),
                c.n_palettes ? "from -p" : "built-in");

    /* Reproducible sheets (https://reproducible-builds.org/specs/source-date-epoch/) */
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    long v;
    if (epoch && parse_long(epoch, 1, LONG_MAX, &v) == 0)
        c.opt.report_time = v;
    catch_signals();
    tally t = {.t0 = now_ms()};
    if (c.format == FORMAT_CSV) {
        fputs(smp_csv_header(), stdout);
        fflush(stdout);
    }
    run_batch(&c, pal, &t);
    summary(&c, &t);
    smp_palette_free(pal);
    free_cli(&c);

    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, PROG ": could not write the results (%s)\n",
                errno == ENOSPC ? "the disk is full"
                : errno == EPIPE ? "the program reading them stopped"
                                 : "the output was closed or failed");
        return 1;
    }
    if (interrupted)
        return 130; /* 128 + SIGINT, what shells report for Ctrl-C */
    return t.failed ? 1 : 0;
}
