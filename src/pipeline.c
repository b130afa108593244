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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"
#include "colour.h"
#include "image.h"
#include "match.h"
#include "measure.h"
#include "regions.h"
#include "smpmatch.h"
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
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
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

static void finish_colour(smp_colour_stat *s)
{
    if (s->measured)
        smp_lab_to_hex(s->lab, s->hex);
}

/* How far to trust the figures, 0..1. A plain product of penalties for what
 * is known to make a measurement unreliable, so that each can be read off
 * the warnings; automatic region finding (a later issue) replaces it with a
 * measured one. The factors are our judgement, not from a study. */
static double confidence(const smp_result *r, int colour_fallback)
{
    if (!r->hair.measured)
        return 0.0;
    double c = 1.0;
    if (strcmp(r->calibration.method, "none") == 0)
        c *= 0.7; /* uncalibrated phone photos are several ΔE00 off */
    if (r->hair.source == SMP_SOURCE_AUTO)
        c *= 0.5; /* no region given: the split may be wrong */
    if (!r->scalp.measured)
        c *= 0.9;
    if (r->hair.pixels < 1000)
        c *= 0.7;
    if (r->hair.spread_de > 4.0)
        c *= 0.8;
    if (colour_fallback)
        c *= 0.8;
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

static smp_status run(smp_result *r, const void *data, size_t size, const smp_palette *palette,
                      const smp_options *opt)
{
    smp_error err = {SMP_OK, ""};
    smp_image img;
    smp_lab_image lab;
    smp_colour_info info;
    smp_regions reg = {0};
    const char *name = r->file;

    smp_load_limits limits = {opt->max_pixels, SMP_DEFAULT_MAX_FILE_BYTES, 0};
    if (smp_image_load_memory(name, data, size, &limits, &img, &err) != SMP_OK)
        return fail_result(r, &err);
    r->image.width = img.width;
    r->image.height = img.height;
    r->image.format = smp_image_format_name(img.format);
    r->image.orientation = img.orientation;
    smp_status st = smp_colour_to_lab(name, &img, &lab, &info, &err);
    smp_image_release(&img);
    if (st != SMP_OK)
        return fail_result(r, &err);
    r->image.analysed_width = lab.width;
    r->image.analysed_height = lab.height;
    r->image.icc_profile = smp_strdup(info.profile);
    r->image.icc_assumed = info.assumed;
    if (info.fallback)
        WARN(r, "%s: colours taken as sRGB", info.fallback_reason);

    if (opt->has_white_roi) {
        smp_rect c;
        const smp_rect *w = &opt->white_roi;
        if (smp_rect_clip(*w, lab.width, lab.height, &c) != 0) {
            smp_fail(&err, SMP_E_ARG, "%s: the white rectangle %d,%d,%d,%d is outside the %d x %d photo",
                     name, w->x, w->y, w->w, w->h, lab.width, lab.height);
            goto failed;
        }
        if (c.x != w->x || c.y != w->y || c.w != w->w || c.h != w->h)
            WARN(r, "the white rectangle %d,%d,%d,%d reaches outside the %d x %d photo: only the "
                    "part inside was used",
                 w->x, w->y, w->w, w->h, lab.width, lab.height);
        st = smp_calibrate_white(&lab, c, &r->calibration);
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

    if (smp_regions_build(name, opt, lab.width, lab.height, &reg, &r->warnings, &r->n_warnings,
                          &err) != SMP_OK)
        goto failed;

    if (!reg.hair && !reg.scalp) {
        WARN(r, "no hair or scalp region given: the whole photo was measured, split into two colour "
                "groups (the lighter taken as skin, unless it is grey); give --hair-roi and --scalp-roi for a reliable "
                "measurement");
        st = smp_measure_whole(&lab, &r->hair, &r->scalp);
        r->hair.source = r->scalp.source = SMP_SOURCE_AUTO;
    } else {
        st = SMP_OK;
        if (reg.scalp) {
            st = smp_measure_region(&lab, reg.scalp, SMP_TARGET_SKIN, NULL, &r->scalp);
            r->scalp.source = reg.scalp_source;
        } else {
            WARN(r, "no scalp region given (--scalp-roi): skin tone (ITA°) not measured");
        }
        if (st == SMP_OK && reg.hair) {
            st = smp_measure_region(&lab, reg.hair, SMP_TARGET_HAIR,
                                    r->scalp.measured ? r->scalp.lab : NULL, &r->hair);
            r->hair.source = reg.hair_source;
        } else if (st == SMP_OK) {
            WARN(r, "no hair region given (--hair-roi): no shade can be recommended");
        }
    }
    if (st != SMP_OK) {
        smp_fail(&err, st, "%s: out of memory while measuring", name);
        goto failed;
    }
    if (reg.hair && !r->hair.measured)
        WARN(r, "too few usable hair pixels (%zu in the region, fewer than %d not clipped): hair "
                "not measured",
             r->hair.region_pixels, SMP_MEASURE_MIN_PIXELS);
    if (reg.scalp && !r->scalp.measured)
        WARN(r, "too few usable scalp pixels (%zu in the region): skin not measured",
             r->scalp.region_pixels);
    finish_colour(&r->hair);
    finish_colour(&r->scalp);
    if (r->scalp.measured) {
        r->ita_deg = smp_ita_deg(r->scalp.lab);
        r->ita_category = smp_ita_category(r->ita_deg);
    }

    if (r->hair.measured && palette) {
        if (opt->model == SMP_MODEL_HEALED)
            WARN(r, "the healed-appearance model is not built yet: shades are ranked by their "
                    "bottle colour, as with --model direct");
        if (smp_match_rank(palette, r->hair.lab, opt->metric, opt->top, &r->matches,
                           &r->n_matches) != SMP_OK) {
            smp_fail(&err, SMP_E_NOMEM, "%s: out of memory while matching", name);
            goto failed;
        }
    }
    r->confidence = confidence(r, info.fallback);
    smp_regions_release(&reg);
    smp_lab_image_release(&lab);
    return SMP_OK;

failed:
    smp_regions_release(&reg);
    smp_lab_image_release(&lab);
    return fail_result(r, &err);
}

static smp_result *new_result(const char *name, const smp_options *opt)
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
    *r = new_result(name, *opt);
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

smp_status smp_analyse_memory(const char *name, const void *data, size_t size,
                              const smp_palette *palette, const smp_options *opt, smp_result **out)
{
    smp_options defaults;
    smp_result *r;
    if (start_result(name, &opt, &defaults, out, &r) != SMP_OK)
        return SMP_E_NOMEM;
    r->status = run(r, data, size, palette, opt);
    return end_result(r, out);
}

smp_status smp_analyse_file(const char *path, const smp_palette *palette, const smp_options *opt,
                            smp_result **out)
{
    unsigned char *data;
    size_t size;
    smp_error err = {SMP_OK, ""};
    if (smp_read_file(path, SMP_DEFAULT_MAX_FILE_BYTES, &data, &size, &err) == SMP_OK) {
        smp_status st = smp_analyse_memory(path, data, size, palette, opt, out);
        free(data);
        return st;
    }
    smp_options defaults;
    smp_result *r;
    if (start_result(path, &opt, &defaults, out, &r) != SMP_OK)
        return SMP_E_NOMEM;
    fail_result(r, &err);
    return end_result(r, out);
}
