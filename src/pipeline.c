/*
 * pipeline.c: one photo through every stage, and the result's lifetime.
 *
 * In:  a photo (file or memory), a palette, options.
 * Out: an smp_result, always (also for a photo that fails: its status and
 *      one-line error are what a batch report needs).
 * Not: printing (output.c formats, the CLI prints), threads (the caller runs
 *      photos on as many threads as it likes: nothing here is shared).
 *
 * load -> colour -> calibrate -> regions -> measure -> match, each stage a
 * module of its own that takes the previous stage's value.
 */
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calibrate.h"
#include "chart.h"
#include "colour.h"
#include "debug.h"
#include "image.h"
#include "match.h"
#include "measure.h"
#include "pipeline.h"
#include "regions.h"
#include "report.h"
#include "smpmatch.h"
#include "team.h"
#include "util.h"

/* White-patch checks. Spread: a grey card photographed by a phone shows a
 * median ΔE00 of about 0.5-1 from noise alone; above 2 the rectangle holds
 * more than the card (an edge, a shadow, print). Clipped: more than 2 % of
 * clipped pixels means the patch's true colour is lost. Dark: below L* 20
 * noise dominates the patch's chromaticity. Chroma: a cast as strong as
 * tungsten light on a grey card gives C* about 15-25; above 30 the patch is
 * probably not neutral at all. */
#define WHITE_MAX_SPREAD 2.0
#define WHITE_MAX_CLIPPED 0.02
#define WHITE_MIN_L 20.0
#define WHITE_MAX_CHROMA 30.0

const char *smp_status_string(smp_status s)
{
    switch (s) {
    case SMP_OK: return "ok";
    case SMP_E_IO: return "cannot read or write the file";
    case SMP_E_FORMAT: return "not a file smpmatch understands";
    case SMP_E_UNSUPPORTED: return "a kind of file smpmatch does not support";
    case SMP_E_LIMIT: return "over a size limit";
    case SMP_E_NOMEM: return "out of memory";
    case SMP_E_ARG: return "a bad option value";
    case SMP_E_COLOUR: return "colour management failed";
    }
    return "unknown error";
}

const char *smp_source_name(smp_source s)
{
    switch (s) {
    case SMP_SOURCE_AUTO: return "auto";
    case SMP_SOURCE_ROI: return "roi";
    case SMP_SOURCE_MASK: return "mask";
    case SMP_SOURCE_NONE: break;
    }
    return "none";
}

void smp_options_init(smp_options *opt)
{
    memset(opt, 0, sizeof *opt);
    opt->metric = SMP_METRIC_DE2000;
    opt->model = SMP_MODEL_HEALED;
    opt->top = 5;
    opt->max_pixels = SMP_DEFAULT_MAX_PIXELS;
    opt->veil = SMP_DEFAULT_VEIL;
    opt->blue_shift = SMP_DEFAULT_BLUE_SHIFT;
    opt->session = SMP_SESSION_ANY;
    opt->recipes = 1;
    opt->analysis_size = SMP_DEFAULT_ANALYSIS_SIZE;
    opt->threads = 1;
}

int smp_rect_parse(const char *text, smp_rect *out)
{
    long v[4];
    const char *p = text;
    if (!p)
        return -1;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9')
            return -1; /* no sign, no space: "X,Y,W,H" of plain integers */
        char *end;
        v[i] = strtol(p, &end, 10);
        if (end == p || v[i] > 1000000)
            return -1; /* 10^6 px: larger than any photo we accept */
        p = end;
        if (i < 3 && *p++ != ',')
            return -1;
    }
    if (*p || v[2] <= 0 || v[3] <= 0)
        return -1;
    out->x = (int)v[0];
    out->y = (int)v[1];
    out->w = (int)v[2];
    out->h = (int)v[3];
    return 0;
}

void smp_result_free(smp_result *r)
{
    if (!r)
        return;
    free(r->file);
    free(r->error);
    free(r->image.icc_profile);
    smp_matches_free(r->matches, r->n_matches);
    smp_match_clear(&r->lighter_start);
    smp_recipes_free(r->recipes, r->n_recipes);
    smp_areas_free(r);
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->n_guidance; i++)
        free(r->guidance[i]);
    free(r->guidance);
    free(r);
}

#define WARN(r, ...) smp_list_add(&(r)->warnings, &(r)->n_warnings, __VA_ARGS__)

static smp_status fail_result(smp_result *r, const smp_error *e)
{
    r->status = e->status != SMP_OK ? e->status : SMP_E_FORMAT;
    free(r->error);
    r->error = smp_strdup(e->message);
    return r->status;
}

/* Under 1000 hair pixels the mode rests on few strands; a spread over 4
 * ΔE00 (twice what a uniform head of hair shows on the samples) means the
 * region holds more than one hair colour or something else. */
#define FEW_HAIR_PIXELS 1000
#define WIDE_SPREAD_DE00 4.0

/* The factors are our judgement, not from a study; bench/accuracy shows how
 * confidence and error go together on the evaluation set. */
double smp_confidence(const smp_result *r, int flags, int colour_fallback)
{
    if (!r->hair.measured)
        return 0.0;
    double c = 1.0;
    if (strcmp(r->calibration.method, "none") == 0)
        c *= 0.7; /* uncalibrated phone photos are several ΔE00 off */
    if (flags & SMP_FLAG_NOT_SCALP)
        c *= 0.2; /* not a consult photo: well under 0.3 */
    if (flags & SMP_FLAG_LITTLE)
        c *= 0.8;
    if (flags & SMP_FLAG_CONTRAST)
        c *= 0.8;
    if (flags & SMP_FLAG_EXPOSURE)
        c *= 0.8;
    if (flags & SMP_FLAG_CAST)
        c *= 0.8;
    if (r->hair.source == SMP_SOURCE_AUTO)
        c *= 0.9; /* found automatically: the masks may hold a little of something else */
    if (!r->scalp.measured || (flags & SMP_FLAG_OTHER_SKIN))
        c *= 0.8; /* no skin of its own: the ITA° and the healed colours are less sure */
    if (flags & SMP_FLAG_FEW)
        c *= 0.8;
    if (flags & SMP_FLAG_SPREAD)
        c *= 0.9;
    if (colour_fallback)
        c *= 0.8;
    if (flags & SMP_FLAG_CHART)
        c *= 0.8; /* the chart's warnings say why */
    return floor(c * 100.0 + 0.5) / 100.0;
}

static void check_white_patch(smp_result *r)
{
    const smp_calibration *cal = &r->calibration;
    double chroma = hypot(cal->patch_lab[1], cal->patch_lab[2]);
    if (cal->clipped_share > WHITE_MAX_CLIPPED)
        WARN(r, "the white patch is clipped (%.0f %% of its pixels are at full brightness or black): "
                "its colour is uncertain; photograph it less bright or choose a grey card",
             cal->clipped_share * 100.0);
    if (cal->spread_de > WHITE_MAX_SPREAD)
        WARN(r, "the white patch is not uniform (its pixels differ by a median %.1f ΔE00): "
                "draw the rectangle inside the card only",
             cal->spread_de);
    if (cal->patch_lab[0] < WHITE_MIN_L)
        WARN(r, "the white patch is very dark (L* %.0f): white balance from it is unreliable",
             cal->patch_lab[0]);
    if (chroma > WHITE_MAX_CHROMA)
        WARN(r, "the white patch is strongly coloured (C* %.0f): check that the rectangle is on a "
                "neutral grey or white card",
             chroma);
}

smp_status smp_pipeline_measure(smp_result *r, const smp_lab_image *lab, const smp_regions *reg,
                                const smp_options *opt, const smp_measure_extra *x)
{
    smp_status st = smp_measure_both_with(lab, reg->scalp, reg->hair, &r->scalp, &r->hair, r->hair_clusters,
                                          &r->n_hair_clusters, &r->grey_share, x);
    if (reg->scalp)
        r->scalp.source = reg->scalp_source;
    if (st == SMP_OK && reg->hair) {
        r->hair.source = reg->hair_source;
        /* The hair colour is the largest group's: a mixture's average is a
         * colour no strand has, and the grouping also leaves out what only
         * looks like hair in the mask (a comb's teeth, shadowed roots) when
         * it is the smaller part. --hair-colour all keeps the colour of all
         * hair pixels together. */
        if (r->n_hair_clusters > 0 && opt->match_cluster == 0) /* non-zero: all */
            memcpy(r->hair.lab, r->hair_clusters[0].lab, sizeof r->hair.lab);
    }
    return st;
}

/* Exposure: more than 2 % of the photo clipped white is over-exposed (its
 * highlights, and light hair, lose their colour); more than 2 % clipped
 * black or a median L* under 20 is under-exposed (dark hair drowns in
 * noise). The figures are our judgement. */
#define EXPOSURE_MAX_CLIPPED 0.02
#define EXPOSURE_MIN_L 20.0
/* Hair and skin closer than 8 ΔE00 (dark hair on dark skin, blond on light
 * skin) are hard to tell apart pixel by pixel. Our judgement, from the
 * evaluation set: above 8 the masks stay clean. */
#define LOW_CONTRAST_DE00 8.0
/* Highlights with C* over 10: under neutral light specular highlights
 * measure C* 2-6 (light sources near the Planckian locus, camera noise). */
#define CAST_MIN_CHROMA 10.0
/* Automatic mode: less than 0.5 % of the photo as hair, or 1 % as bare
 * scalp, is too little to measure reliably. */
#define AUTO_MIN_HAIR_SHARE 0.005
#define AUTO_MIN_SCALP_SHARE 0.01

/* Exposure, over the pixels that are there (not transparent): counts and
 * a coarse lightness histogram (1-L* bins) of each part of the image
 * (colour.h). */
typedef struct exposure {
    const smp_lab_image *lab;
    smp_exposure part[SMP_PARTS];
} exposure;

static void exposure_part(void *arg, int part)
{
    exposure *e = arg;
    const smp_lab_image *lab = e->lab;
    size_t from, to;
    smp_part_range((size_t)lab->width * lab->height, part, &from, &to);
    smp_exposure_add(&e->part[part], lab->lab + 3 * from, lab->flags + from, to - from);
}

/* Both parts, one after the other (on the measurement's helper: the
 * sums are the same as each part on its own thread). */
static void exposure_whole(void *arg, int part)
{
    (void)part;
    exposure_part(arg, 0);
    exposure_part(arg, 1);
}

/* The work beside the measurement (smp_measure_extra): the exposure on
 * the helper once the scalp is measured, and the region finder's last look
 * in SMP_AUTO_END_PARTS pieces that either thread takes as it has time
 * (the hair's first steps keep the caller busy while the helper measures
 * the scalp; the figures do not depend on who took which piece). */
typedef struct beside_job {
    smp_auto_rest *rest;
    exposure *ex; /* NULL: counted already */
    atomic_int next; /* the next piece to take */
} beside_job;

static void beside_helper(void *arg, int part)
{
    (void)part;
    beside_job *j = arg;
    if (j->ex)
        exposure_whole(j->ex, 1);
}

static int beside_share(void *arg)
{
    beside_job *j = arg;
    int piece = atomic_fetch_add(&j->next, 1);
    if (piece >= SMP_AUTO_END_PARTS)
        return 0;
    smp_regions_auto_end_part(j->rest, piece);
    return 1;
}

/* Whether enough pixels may be lighter than above_l for
 * smp_highlight_chroma to judge a cast (calibrate.h): at most those in
 * the exposure's lightness bins from above_l's up (a bin holds the L*
 * that truncate to it, clipped pixels too, and the last every L* from 100
 * up). When fewer, its pass over the photo would find too few: it is
 * saved, with the same answer (81 times of the 130 it was asked for on
 * the 135 bench photos, the 12 MP bench photo among them). */
static int could_be_lighter(const exposure *e, double above_l, size_t npx)
{
    int from = above_l >= 100.0 ? 100 : (int)above_l; /* above_l >= 15 */
    size_t most = 0;
    for (int p = 0; p < SMP_PARTS; p++)
        for (int b = from; b <= 100; b++)
            most += e->part[p].lightness[b];
    return most >= SMP_HIGHLIGHT_MIN && most * SMP_HIGHLIGHT_SHARE >= npx;
}

/* `e`: the exposure, taken already (exposure_whole). */
static int quality_warnings(smp_result *r, const smp_lab_image *lab, const smp_regions *reg,
                            const smp_auto_info *ai, const exposure *e)
{
    int flags = 0;
    /* The verdict on the whole photo is automatic mode's alone: a region the
     * user marked is measured whatever the rest of the photo looks like. */
    int all_auto = ai && reg->hair_source != SMP_SOURCE_ROI && reg->hair_source != SMP_SOURCE_MASK &&
                   reg->scalp_source != SMP_SOURCE_ROI && reg->scalp_source != SMP_SOURCE_MASK;
    if (all_auto && !ai->looks_like_scalp) {
        WARN(r, "this photo does not look like hair on skin (no bare scalp with strands on it was "
                "found): the colours below are not a consult measurement");
        flags |= SMP_FLAG_NOT_SCALP;
    } else if (ai) {
        if (reg->hair_source == SMP_SOURCE_AUTO && ai->hair_share < AUTO_MIN_HAIR_SHARE) {
            WARN(r, "too little hair visible (%.1f %% of the photo): photograph closer, or mark it with "
                    "--hair-roi", ai->hair_share * 100.0);
            flags |= SMP_FLAG_LITTLE;
        }
        if (reg->scalp_source == SMP_SOURCE_AUTO && ai->scalp_share < AUTO_MIN_SCALP_SHARE) {
            WARN(r, "too little bare scalp visible (%.1f %% of the photo): the skin tone is uncertain; "
                    "mark bare scalp with --scalp-roi", ai->scalp_share * 100.0);
            flags |= SMP_FLAG_LITTLE;
        }
    }
    if (!reg->hair)
        WARN(r, "no hair was found: no shade can be recommended (mark it with --hair-roi)");
    else if (!r->hair.measured)
        WARN(r, "too few usable hair pixels (%zu in the region, fewer than %d not clipped): hair "
                "not measured",
             r->hair.region_pixels, SMP_MEASURE_MIN_PIXELS);
    if (!reg->scalp)
        WARN(r, "no bare scalp was found: skin tone (ITA°) not measured (mark it with --scalp-roi)");
    else if (!r->scalp.measured)
        WARN(r, "too few usable scalp pixels (%zu in the region): skin not measured",
             r->scalp.region_pixels);

    if (r->hair.measured && r->hair.pixels < FEW_HAIR_PIXELS) {
        WARN(r, "few hair pixels were measured (%zu): the hair colour is uncertain", r->hair.pixels);
        flags |= SMP_FLAG_FEW;
    }
    if (r->hair.measured && r->hair.spread_de > WIDE_SPREAD_DE00) {
        WARN(r, "the hair colour varies a lot within the region (spread %.1f ΔE00): check the region "
                "with --debug-masks",
             r->hair.spread_de);
        flags |= SMP_FLAG_SPREAD;
    }
    if (r->hair.measured && r->scalp.measured) {
        double c = smp_de00(r->hair.lab, r->scalp.lab);
        if (c < LOW_CONTRAST_DE00) {
            WARN(r, "low contrast between hair and skin (ΔE00 %.1f): hair and skin may be mixed in "
                    "the measurement; check with --debug-masks or mark them with rectangles", c);
            flags |= SMP_FLAG_CONTRAST;
        }
    }

    /* Exposure: a coarse median lightness from the parts' histograms. */
    const smp_exposure *e0 = &e->part[0], *e1 = &e->part[1];
    size_t npx = e0->there + e1->there, hi = e0->high + e1->high, lo = e0->low + e1->low, acc = 0;
    double median_l = 100;
    for (int b = 0; b <= 100 && npx; b++)
        if ((acc += e0->lightness[b] + e1->lightness[b]) * 2 >= npx) {
            median_l = b;
            break;
        }
    if (npx == 0) {
        /* nothing to judge */
    } else if ((double)hi > EXPOSURE_MAX_CLIPPED * npx) {
        WARN(r, "over-exposed: %.0f %% of the photo is clipped white; light hair and highlights "
                "lose their colour",
             100.0 * hi / npx);
        flags |= SMP_FLAG_EXPOSURE;
    } else if ((double)lo > EXPOSURE_MAX_CLIPPED * npx || median_l < EXPOSURE_MIN_L) {
        WARN(r, "under-exposed: the photo is very dark; dark hair is lost in noise");
        flags |= SMP_FLAG_EXPOSURE;
    }

    /* highlights: 15 L* above the skin, so that light skin is not taken for one */
    double above_l = r->scalp.lab[0] + 15.0;
    if (strcmp(r->calibration.method, "none") == 0 && r->scalp.measured &&
        could_be_lighter(e, above_l, (size_t)lab->width * lab->height)) {
        size_t n;
        double c = smp_highlight_chroma(lab, above_l, &n);
        if (c > CAST_MIN_CHROMA) {
            WARN(r, "strong colour cast (highlights are tinted, C* %.0f): put a grey card in the photo "
                    "and mark it with --white-roi",
                 c);
            flags |= SMP_FLAG_CAST;
        }
    }
    return flags;
}

/* A stand-in skin for a Fitzpatrick type, used only when no scalp was
 * measured: the conventional ITA° category of each type (the centre of very
 * light ... dark, Chardon et al. 1991's bands) at a* 10, b* 15, which are
 * typical of skin in colorimetric surveys. Del Bino & Bernerd 2013 show how
 * loosely type and colour go together: a rough guide, and the output says
 * so. L* = 50 + b* tan(ITA°). */
static const double fitzpatrick_skin[6][3] = {
    {76.0, 10.0, 15.0}, /* I:   ITA° 60 */
    {66.7, 10.0, 15.0}, /* II:  ITA° 48 */
    {60.3, 10.0, 15.0}, /* III: ITA° 34.5 */
    {55.2, 10.0, 15.0}, /* IV:  ITA° 19 */
    {47.4, 10.0, 15.0}, /* V:   ITA° -10 */
    {35.0, 10.0, 15.0}, /* VI:  ITA° -45 */
};

static const char *const roman[7] = {"", "I", "II", "III", "IV", "V", "VI"};

/* 1 (very light) .. 6 (dark), in the order of the ITA° categories. */
static int ita_rank(double ita)
{
    static const double above[5] = {55, 41, 28, 10, -30};
    for (int i = 0; i < 5; i++)
        if (ita > above[i])
            return i + 1;
    return 6;
}

/* Below this healed contrast the dots barely show against the skin: our
 * judgement, about five times the acceptability threshold (1.8 ΔE00). */
#define LOW_HEALED_CONTRAST_DE00 10.0
/* A healed carbon shade whose b* falls this far below its bottle's reads as
 * blue-grey: our judgement (about one just-noticeable difference in b*). */
#define BLUE_CAST_DB 1.0
/* Bottle chroma under which a shade counts as carbon-like (near neutral). */
#define CARBON_MAX_CHROMA 6.0
/* Salt-and-pepper: grey groups hold 30-70 % of the hair (our choice: below,
 * the odd grey strand; above, the hair is grey and matched as such). */
#define GREY_HAIR_SHARE 0.3
/* The closest shade heals more than 5 L* lighter than the hair: about three
 * times the 1.8 ΔE00 acceptability (Paravina et al. 2015) in lightness
 * alone; our judgement for "no shade can be dark enough". */
#define TOO_DARK_DL 5.0
/* Hair chroma more than 6 C* above the closest healed shade's: brown, red
 * or blond hair against carbon greys. Our judgement: about three times
 * the acceptability threshold in chroma alone. */
#define COLOURLESS_DC 6.0

#define GUIDE(r, ...) smp_list_add(&(r)->guidance, &(r)->n_guidance, __VA_ARGS__)

/* Two palettes may hold shades of the same name: compare all that names one. */
static int same_shade(const smp_match *a, const smp_match *b)
{
    return strcmp(a->name, b->name) == 0 && strcmp(a->code, b->code) == 0 &&
           strcmp(a->palette, b->palette) == 0;
}

static int guidance(smp_result *r, const smp_options *opt, double darkest_l)
{
    int bad = 0;
    const double *skin = r->heal.skin_lab;
    int known = strcmp(r->heal.skin_source, "none") != 0;
    double ita = known ? smp_ita_deg(skin) : NAN;
    int fitz = opt->fitzpatrick;
    if (r->scalp.measured && fitz >= 1 && fitz <= 6 && abs(ita_rank(ita) - fitz) >= 3)
        bad |= WARN(r, "the skin in the photo (ITA° %.0f, %s) does not fit Fitzpatrick type %s: "
                       "check the lighting, the white patch and the scalp region",
                    ita, smp_ita_category(ita), roman[fitz]);
    if (!known || r->n_matches == 0)
        return bad;
    const smp_match *top = &r->matches[0];
    double contrast = smp_de00(top->healed_lab, skin);
    if (ita < -30 || fitz >= 5)
        bad |= GUIDE(r, "Dark skin: pigment shows less against it once healed (%s heals %.1f ΔE00 "
                        "from the skin); place dots closer rather than darker, build density over "
                        "sessions, and judge the result in daylight",
                     top->name, contrast);
    else if (contrast < LOW_HEALED_CONTRAST_DE00)
        bad |= GUIDE(r, "Low contrast: %s heals only %.1f ΔE00 from the skin; place dots closer "
                        "rather than darker, and build density over sessions",
                     top->name, contrast);
    double chroma = hypot(top->lab[1], top->lab[2]);
    double shift = top->healed_lab[2] - top->lab[2];
    if ((ita > 55 || (fitz >= 1 && fitz <= 2)) && chroma < CARBON_MAX_CHROMA &&
        shift < -BLUE_CAST_DB && r->model == SMP_MODEL_HEALED)
        bad |= GUIDE(r, "Very light skin: a pure carbon shade can heal with a blue-grey cast here "
                        "(%s heals to b* %.1f against %.1f in the bottle); a warm-leaning shade "
                        "or a lighter dilution reduces it",
                     top->name, top->healed_lab[2], top->lab[2]);
    if (darkest_l - r->hair.lab[0] > TOO_DARK_DL)
        bad |= GUIDE(r, "The hair (L* %.0f) is darker than any shade heals on this skin (the "
                        "darkest heals to L* %.0f). Pigment seen through skin always looks lighter "
                        "than hair on it; use the darkest shade and build density rather than look "
                        "for a darker bottle",
                     r->hair.lab[0], darkest_l);
    double hair_c = hypot(r->hair.lab[1], r->hair.lab[2]);
    double top_c = hypot(top->healed_lab[1], top->healed_lab[2]);
    if (hair_c - top_c > COLOURLESS_DC)
        bad |= GUIDE(r, "The hair has more colour (C* %.0f) than any shade here heals to (%s: C* "
                        "%.0f): the match rests on lightness; a warmer shade in your palette would "
                        "come closer",
                     hair_c, top->name, top_c);
    if (r->has_lighter_start && !same_shade(&r->lighter_start, top))
        bad |= GUIDE(r, "First session: start with %s (heals to %s, lighter than the hair); build "
                        "towards %s at later sessions if needed",
                     r->lighter_start.name, r->lighter_start.healed_hex, top->name);
    if (opt->match_cluster == 0 && r->grey_share >= GREY_HAIR_SHARE &&
        r->grey_share <= 1.0 - GREY_HAIR_SHARE)
        bad |= GUIDE(r, "Salt-and-pepper hair: grey or white strands make up %.0f %% of it. The "
                        "shades match the largest colour group (the %s strands); --hair-colour "
                        "all matches all strands together",
                     r->grey_share * 100.0,
                     r->n_hair_clusters > 0 && r->hair_clusters[0].grey ? "grey" : "dark");
    return bad;
}

smp_status smp_recommend(smp_result *r, const smp_palette *palette, const smp_options *opt,
                         const smp_heal_ctx *h)
{
    if (r->hair.measured)
        smp_heal_hex(h, r->hair.lab, r->hair.hex);
    for (size_t j = 0; j < r->n_hair_clusters; j++) /* left to this transform: smp_measure_both */
        if (r->hair_clusters[j].hex[0] != '#')
            smp_heal_hex(h, r->hair_clusters[j].lab, r->hair_clusters[j].hex);
    if (r->scalp.measured) {
        smp_heal_hex(h, r->scalp.lab, r->scalp.hex);
        r->ita_deg = smp_ita_deg(r->scalp.lab);
        r->ita_category = smp_ita_category(r->ita_deg);
        r->undertone = smp_undertone(r->scalp.lab);
        r->heal.skin_source = "scalp";
        memcpy(r->heal.skin_lab, r->scalp.lab, sizeof r->heal.skin_lab);
    } else if (opt->fitzpatrick >= 1 && opt->fitzpatrick <= 6) {
        r->heal.skin_source = "fitzpatrick";
        memcpy(r->heal.skin_lab, fitzpatrick_skin[opt->fitzpatrick - 1], sizeof r->heal.skin_lab);
        if (opt->model == SMP_MODEL_HEALED && WARN(r, "no scalp skin was measured: the healed "
                                                      "colours assume a typical skin of "
                                                      "Fitzpatrick type %s, a rough guide",
                                                   roman[opt->fitzpatrick]))
            return SMP_E_NOMEM;
    } else if (opt->model == SMP_MODEL_HEALED && r->hair.measured) {
        if (WARN(r, "no scalp skin was measured: shades are ranked by their bottle colour; mark "
                    "bare scalp with --scalp-roi or give --fitzpatrick"))
            return SMP_E_NOMEM;
    }
    double darkest_l = INFINITY;
    if (r->hair.measured && palette) {
        int known = strcmp(r->heal.skin_source, "none") != 0;
        smp_match_params p = {.palette = palette,
                              .hair = r->hair.lab,
                              .skin = known ? r->heal.skin_lab : NULL,
                              .metric = opt->metric,
                              .model = opt->model,
                              .session = opt->session,
                              .veil = opt->veil,
                              .blue_shift = opt->blue_shift,
                              .top = opt->top,
                              .recipes = opt->recipes};
        smp_status st = smp_match_result(&p, h, r);
        if (st != SMP_OK)
            return st;
        darkest_l = r->heal.darkest_l;
        if (opt->session == SMP_SESSION_FIRST && r->n_matches == 0 &&
            WARN(r, "no shade heals at or lighter than the hair: add a lighter dilution to the "
                    "palette"))
            return SMP_E_NOMEM;
    }
    return guidance(r, opt, darkest_l) ? SMP_E_NOMEM : SMP_OK;
}

/* The healed model's colour transforms: built on the photo's helper while
 * the photo decodes (2 ms in a fresh process; a JPEG's by its colour
 * stream, before its rows), else where first needed. */
typedef struct heal_job {
    smp_heal_ctx ctx;
    smp_status st;
    int started;
} heal_job;

static void heal_start(void *arg, int part)
{
    (void)part;
    heal_job *h = arg;
    h->st = smp_heal_ctx_init(&h->ctx);
}

/* `file` (NULL, or where the bytes of a photo read from its file are kept)
 * lets the bytes go once the photo is decoded: on a VM whose host takes
 * back the memory a guest frees, fresh memory costs over a millisecond a
 * megabyte on first touch, and memory given back is the first to be
 * handed out again. */
static smp_status run_with(smp_result *r, const void *data, size_t size, const smp_palette *palette,
                           const smp_options *opt, smp_workspace *ws, smp_team *team, heal_job *heal,
                           unsigned char **file)
{
    smp_error err = {SMP_OK, ""};
    smp_image img;
    smp_lab_image lab;
    smp_colour_info info;
    smp_regions reg = {0};
    smp_auto_rest *rest = NULL; /* the region finder's last look, still to take */
    const char *name = r->file;

    /* A JPEG's rows are converted on the photo's helper as they are
     * decoded, after it has built the healed model's transforms. */
    smp_colour_stream cs;
    smp_colour_stream_init(&cs, name, ws, team, heal->started ? NULL : heal_start, heal);
    /* The region finder's first step follows the rows too (regions.h):
     * wasted when the user marks both regions, on a thread that would wait. */
    smp_seed_pass seed = {0};
    cs.seed = &seed;
    smp_load_limits limits = {.max_pixels = opt->max_pixels,
                              .max_file_bytes = SMP_DEFAULT_MAX_FILE_BYTES,
                              .analysis_size = opt->analysis_size, /* decoded reduced: image.h */
                              .ws = ws, /* and every stage after it: lab.ws */
                              .keep_stored = 1, /* the conversion turns a JPEG */
                              .sink = team ? &cs.sink : NULL};
    smp_status loaded = smp_image_load_memory(name, data, size, &limits, &img, &err);
    if (cs.begun)
        heal->started = 1; /* the stream's helper job built them */
    if (file) {
        smp_work_free(ws, *file);
        *file = NULL;
    }
    if (loaded != SMP_OK) {
        smp_colour_stream_release(&cs);
        smp_seed_pass_release(&seed);
        return fail_result(r, &err);
    }
    if (team && !heal->started) { /* a JPEG whose rows were not followed */
        smp_team_start(team, heal_start, heal);
        heal->started = 1;
    }
    img.team = team; /* the conversion's, and every pass over lab's: lab.team */
    smp_scale scale = img.scale; /* analysed pixels over displayed ones */
    r->image.width = scale.full_width; /* as displayed; img.width is the analysed size */
    r->image.height = scale.full_height;
    r->image.format = smp_image_format_name(img.format);
    r->image.orientation = img.orientation;
    smp_status st = smp_colour_stream_finish(&cs, &img, &lab, &info, &err);
    smp_colour_stream_release(&cs);
    if (!seed.on) { /* not followed: the region finder takes the rows in the same order */
        seed.turn = img.turn;
        seed.sw = img.width;
        seed.sh = img.height;
    }
    smp_image_release(&img);
    if (st != SMP_OK) {
        smp_seed_pass_release(&seed);
        return fail_result(r, &err);
    }
    r->image.analysed_width = lab.width;
    r->image.analysed_height = lab.height;
    r->image.icc_profile = smp_strdup(info.profile);
    r->image.icc_assumed = info.assumed;
    if (info.fallback)
        WARN(r, "%s: colours taken as sRGB", info.fallback_reason);

    int chart_doubt = 0;
    if (opt->has_chart || opt->has_white_roi)
        seed.complete = 0; /* taken from the colours before the correction */
    if (opt->has_chart) {
        /* The chart wins over a grey card: it fixes the camera's rendering
         * as well as the white point (docs/chart.md). */
        if (smp_chart_run(name, opt->chart, &scale, &lab, r, &chart_doubt, &err) != SMP_OK)
            goto failed;
        if (opt->has_white_roi)
            WARN(r, "both a colour chart and a white patch were given: the chart was used, the "
                    "white patch ignored");
    } else if (opt->has_white_roi) {
        smp_rect c;
        const smp_rect *w = &opt->white_roi;
        if (smp_rect_fit(name, "white", *w, r->image.width, r->image.height, &c, &r->warnings,
                         &r->n_warnings, &err) != SMP_OK)
            goto failed;
        st = smp_calibrate_white(&lab, smp_rect_to_analysed(&scale, c), &r->calibration);
        r->calibration.roi = c; /* reported in displayed pixels, as given */
        if (st == SMP_E_NOMEM) {
            smp_fail(&err, st, "%s: out of memory during white balance", name);
            goto failed;
        }
        if (st != SMP_OK) {
            smp_fail(&err, st, "%s: the white rectangle %d,%d,%d,%d has no usable pixel", name, w->x,
                     w->y, w->w, w->h);
            goto failed;
        }
        check_white_patch(r);
    } else {
        WARN(r, "no grey card or colour chart given (--white-roi): colours from an uncalibrated "
                "photo can be several ΔE00 off");
    }

    if (smp_regions_build(name, opt, &scale, lab.width, lab.height, &reg, &r->warnings, &r->n_warnings,
                          &err) != SMP_OK)
        goto failed;
    reg.ws = lab.ws; /* the found masks join the given ones, all freed by smp_regions_release */

    /* What the user did not mark is found automatically; what they marked
     * always wins. */
    smp_auto_info ai = {0};
    int automatic = !reg.hair || !reg.scalp;
    if (automatic) {
        smp_regions found;
        if (smp_regions_auto_begin(&lab, &seed, &found, &ai, &rest) != SMP_OK) {
            smp_fail(&err, SMP_E_NOMEM, "%s: out of memory while finding hair and scalp", name);
            goto failed;
        }
        if (!reg.hair) {
            reg.hair = found.hair;
            reg.hair_source = found.hair_source;
            found.hair = NULL;
        }
        if (!reg.scalp) {
            reg.scalp = found.scalp;
            reg.scalp_source = found.scalp_source;
            found.scalp = NULL;
        }
        smp_regions_release(&found);
    }
    /* The exposure from the seed pass's counts when it followed the Lab
     * image as it is (the same integers as exposure_whole's). */
    exposure ex = {.lab = &lab};
    int exposed = seed.complete;
    if (exposed)
        ex.part[0] = seed.exposure;
    smp_seed_pass_release(&seed); /* what the finder did not take: no longer needed */
    /* Beside the measurement: the exposure (unless counted already), and
     * the region finder's last look (straightness), shared as beside_job
     * says. */
    beside_job bj = {rest, exposed ? NULL : &ex, 0};
    smp_measure_extra x = {.after_scalp = beside_helper, .after_scalp_arg = &bj, .share = beside_share,
                           .share_arg = &bj};
    st = smp_pipeline_measure(r, &lab, &reg, opt, &x);
    smp_regions_auto_end_finish(rest, &ai); /* every part taken: smp_measure_both_with ran both */
    rest = NULL;
    if (st != SMP_OK) {
        smp_fail(&err, st, "%s: out of memory while measuring", name);
        goto failed;
    }
    int flags = quality_warnings(r, &lab, &reg, automatic ? &ai : NULL, &ex);
    if (opt->debug_masks_dir) {
        smp_error derr;
        if (smp_debug_write_masks(opt->debug_masks_dir, name, &lab, reg.hair, reg.scalp, &derr) != SMP_OK)
            WARN(r, "the debug masks were not written: %s", derr.message);
    }
    if (heal->started) {
        smp_team_wait(team);
        smp_team_retire(team); /* nothing more for it: the rest is short */
    } else {
        heal_start(heal, 1);
        heal->started = 1;
    }
    if (heal->st != SMP_OK) {
        smp_fail(&err, SMP_E_COLOUR, "%s: colour management failed while matching", name);
        goto failed;
    }
    st = smp_recommend(r, palette, opt, &heal->ctx);
    if (st == SMP_OK && opt->n_areas > 0)
        st = smp_areas_run(r, &lab, &scale, palette, opt, &heal->ctx);
    if (st != SMP_OK) {
        smp_fail(&err, st, "%s: out of memory while matching", name);
        goto failed;
    }
    if (chart_doubt)
        flags |= SMP_FLAG_CHART;
    r->confidence = smp_confidence(r, flags, info.fallback);
    if (opt->report_path) {
        smp_error rerr;
        time_t when = opt->report_time > 0 ? (time_t)opt->report_time : time(NULL);
        if (smp_report_write(opt->report_path, r, &lab, reg.hair, reg.scalp, when, &rerr) == SMP_OK)
            r->report_written = 1;
        else
            WARN(r, "the consult sheet was not written: %s", rerr.message);
    }
    smp_regions_release(&reg);
    smp_lab_image_release(&lab);
    smp_seed_pass_release(&seed);
    return SMP_OK;

failed:
    smp_regions_auto_end(rest, NULL, NULL);
    smp_regions_release(&reg);
    smp_lab_image_release(&lab);
    smp_seed_pass_release(&seed);
    return fail_result(r, &err);
}

/* With the photo's second thread when opt->threads asks for it (team.h;
 * none when it cannot start: the same work then runs on this thread). */
static smp_status run(smp_result *r, const void *data, size_t size, const smp_palette *palette,
                      const smp_options *opt, smp_workspace *ws, unsigned char **file)
{
    heal_job heal = {.st = SMP_E_COLOUR};
    smp_team *team = smp_team_new(opt->threads);
    const unsigned char *magic = data;
    if (team && !(size >= 3 && magic[0] == 0xFF && magic[1] == 0xD8 && magic[2] == 0xFF)) {
        /* not a JPEG: the transforms are built while it decodes */
        smp_team_start(team, heal_start, &heal);
        heal.started = 1;
    }
    smp_status st = run_with(r, data, size, palette, opt, ws, team, &heal, file);
    smp_team_wait(team);
    if (heal.started && heal.st == SMP_OK)
        smp_heal_ctx_release(&heal.ctx);
    smp_team_free(team);
    return st;
}

smp_result *smp_result_new(const char *name, const smp_options *opt)
{
    smp_result *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->file = smp_strdup(name ? name : "");
    if (!r->file) {
        free(r);
        return NULL;
    }
    r->metric = opt->metric;
    r->model = opt->model;
    r->calibration.method = "none";
    r->ita_deg = NAN;
    r->ita_category = "unknown";
    r->undertone = "unknown";
    r->heal.skin_source = "none";
    r->heal.veil = opt->veil;
    r->heal.blue_shift = opt->blue_shift;
    r->heal.fitzpatrick = opt->fitzpatrick;
    r->heal.session = opt->session;
    r->heal.darkest_l = NAN;
    r->image.format = "unknown";
    r->image.orientation = 1;
    return r;
}

/* The result for a photo, also when it fails: *out (when given) owns it. */
static smp_status start_result(const char *name, const smp_options **opt, smp_options *defaults,
                               smp_result **out, smp_result **r)
{
    if (!*opt) {
        smp_options_init(defaults);
        *opt = defaults;
    }
    *r = smp_result_new(name, *opt);
    if (out)
        *out = *r;
    return *r ? SMP_OK : SMP_E_NOMEM;
}

static smp_status end_result(smp_result *r, smp_result **out)
{
    smp_status st = r->status;
    if (!out)
        smp_result_free(r);
    return st;
}

static smp_status analyse_memory(const char *name, const void *data, size_t size,
                                 const smp_palette *palette, const smp_options *opt,
                                 smp_workspace *ws, smp_result **out, unsigned char **file)
{
    smp_options defaults;
    smp_result *r;
    if (start_result(name, &opt, &defaults, out, &r) != SMP_OK)
        return SMP_E_NOMEM;
    r->status = run(r, data, size, palette, opt, ws, file);
    return end_result(r, out);
}

/* The caller's workspace, or a new one for this photo alone (*own, to be
 * freed after it; NULL if even that could not be had: then malloc). */
static smp_workspace *photo_workspace(const smp_options *opt, smp_workspace **own)
{
    *own = NULL;
    if (opt && opt->workspace)
        return opt->workspace;
    return *own = smp_workspace_for_photo();
}

smp_status smp_analyse_memory(const char *name, const void *data, size_t size,
                              const smp_palette *palette, const smp_options *opt, smp_result **out)
{
    smp_workspace *own, *ws = photo_workspace(opt, &own);
    smp_status st = analyse_memory(name, data, size, palette, opt, ws, out, NULL);
    smp_work_settle(ws);
    smp_workspace_free(own);
    return st;
}

smp_status smp_analyse_file(const char *path, const smp_palette *palette, const smp_options *opt,
                            smp_result **out)
{
    unsigned char *data;
    size_t size;
    smp_error err = {SMP_OK, ""};
    smp_workspace *own, *ws = photo_workspace(opt, &own);
    if (smp_read_file_ws(path, SMP_DEFAULT_MAX_FILE_BYTES, ws, &data, &size, &err) == SMP_OK) {
        smp_status st = analyse_memory(path, data, size, palette, opt, ws, out, &data);
        smp_work_free(ws, data); /* NULL when the analysis let it go */
        smp_work_settle(ws);
        smp_workspace_free(own);
        return st;
    }
    smp_workspace_free(own);
    smp_options defaults;
    smp_result *r;
    if (start_result(path, &opt, &defaults, out, &r) != SMP_OK)
        return SMP_E_NOMEM;
    fail_result(r, &err);
    return end_result(r, out);
}
