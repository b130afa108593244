/*
 * areas.c: per-area analysis (--region NAME=X,Y,W,H).
 *
 * In:  the photo's Lab image, its result with the photo's hair and scalp
 *      already measured, the palette and the options' areas.
 * Out: r->areas: per area, a nested smp_result with the area's own hair
 *      and skin, skin tone, shades, lighter start, mixes and guidance; for
 *      a scar, the scar tissue against the scalp around it.
 * Not: the photo's own analysis (pipeline.c), printing (output.c).
 *
 * Greying and skin differ across a head (grey temples, a sun-darkened
 * crown), so each area marked by the technician is measured on its own:
 * the area is cut out of the photo, hair and bare scalp are found in it
 * automatically (regions_auto.c) and measured (measure.c), and the shades
 * are recommended as for the photo (pipeline.c's smp_recommend). An area
 * with no bare scalp of its own borrows the photo's scalp as its skin. The
 * photo-level "does not look like hair on skin" verdict is not applied to
 * areas: the user marked them.
 *
 * A scar area (its name starts with "scar") is the scar itself. Its tissue
 * is the skin in the rectangle; the scalp around it is a ring around the
 * rectangle. The shade that camouflages the scar is the one that, healed
 * in the scar tissue, looks like the hair around it: so the nested result's
 * hair is the ring's hair and its scalp the scar tissue, and smp_recommend
 * predicts every shade on that tissue.
 *
 * Problems with one area (outside the photo, nothing to measure) become
 * warnings; only running out of memory fails.
 *
 * The area's rectangle is given, clipped and reported (smp_area.rect) in
 * pixels of the photo as displayed; it is measured on the analysed image,
 * mapped by smp_rect_to_analysed (regions.c) like every user rectangle.
 * The scar ring's width is counted in analysed pixels.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "measure.h"
#include "pipeline.h"
#include "regions.h"
#include "util.h"

/* A scar more than 5 L* lighter than the scalp around it: about three
 * times the 1.8 ΔE00 acceptability threshold (Paravina et al. 2015) in
 * lightness alone. Our judgement for "dots alone may not hide it": healed
 * pigment is seen through the scar's own lighter skin, so the scar shows
 * as a paler patch between dots. */
#define SCAR_LIGHTER_DL 5.0

/* Ring around a scar: half the rectangle's shorter side, at least 8 px
 * (two strand widths at the analysis scale, enough for some hair and some
 * bare scalp between them). Our choice. */
#define RING_MIN_PX 8

/* Under 1000 hair pixels the hair colour rests on a few strands (the same
 * figure as the photo's "few hair pixels" warning in pipeline.c). */
#define RING_MIN_HAIR_PIXELS 1000

#define WARN(r, ...) smp_list_add(&(r)->warnings, &(r)->n_warnings, __VA_ARGS__)

int smp_area_parse(const char *text, smp_area_spec *out)
{
    if (!text || !out)
        return -1;
    const char *eq = strchr(text, '=');
    if (!eq)
        return -1;
    size_t n = (size_t)(eq - text);
    if (n == 0 || n >= SMP_AREA_NAME_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = text[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        if (!ok)
            return -1;
    }
    smp_rect rect;
    if (smp_rect_parse(eq + 1, &rect) != 0)
        return -1;
    memset(out->name, 0, sizeof out->name);
    memcpy(out->name, text, n);
    out->rect = rect;
    return 0;
}

static int is_scar(const char *name)
{
    return strncmp(name, "scar", 4) == 0;
}

/* Copies rectangle c (inside the image) of `src` into a new image. */
static smp_status crop_lab(const smp_lab_image *src, smp_rect c, smp_lab_image *out)
{
    size_t npx, nf;
    memset(out, 0, sizeof *out);
    if (smp_mul_size((size_t)c.w, (size_t)c.h, &npx) != 0 || smp_mul_size(npx, 3 * sizeof(float), &nf) != 0)
        return SMP_E_NOMEM;
    out->lab = malloc(nf);
    out->flags = malloc(npx);
    if (!out->lab || !out->flags) {
        smp_lab_image_release(out);
        return SMP_E_NOMEM;
    }
    out->width = c.w;
    out->height = c.h;
    for (int y = 0; y < c.h; y++) {
        size_t from = (size_t)(c.y + y) * (size_t)src->width + (size_t)c.x;
        size_t to = (size_t)y * (size_t)c.w;
        memcpy(out->lab + 3 * to, src->lab + 3 * from, (size_t)c.w * 3 * sizeof(float));
        memcpy(out->flags + to, src->flags + from, (size_t)c.w);
    }
    return SMP_OK;
}

/* The colour of every usable pixel taken as skin: for scar tissue the
 * automatic finder did not call skin (too pale for its skin box). The mode
 * (measure.h), not a 2-group split, which on one colour would keep the
 * lighter half of its noise. */
static smp_status measure_all_as_skin(const smp_lab_image *img, const unsigned char *mask,
                                      smp_colour_stat *out)
{
    size_t n = (size_t)img->width * img->height, k = 0;
    memset(out, 0, sizeof *out);
    float *px = malloc(n * 3 * sizeof *px);
    float *d = malloc(n * sizeof *d);
    if (!px || !d) {
        free(px);
        free(d);
        return SMP_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        if (mask && !mask[i])
            continue;
        out->region_pixels++;
        if (img->flags[i])
            continue; /* transparent or clipped */
        memcpy(px + 3 * k++, img->lab + 3 * i, 3 * sizeof *px);
    }
    smp_status st = SMP_OK;
    if (k >= SMP_MEASURE_MIN_PIXELS && (st = smp_centre_mode(px, k, out->lab, NULL)) == SMP_OK) {
        for (size_t i = 0; i < k; i++) {
            double c[3] = {px[3 * i], px[3 * i + 1], px[3 * i + 2]};
            d[i] = (float)smp_de00(c, out->lab);
        }
        qsort(d, k, sizeof *d, smp_cmp_float);
        out->spread_de = d[k / 2];
        out->pixels = k;
        out->measured = 1;
        out->source = SMP_SOURCE_ROI;
    }
    free(px);
    free(d);
    return st;
}

/* The nested result repeats the photo's file, image and calibration. */
static smp_result *nested_new(const smp_result *r, const smp_options *opt)
{
    smp_result *n = smp_result_new(r->file, opt);
    if (!n)
        return NULL;
    n->image = r->image;
    n->image.icc_profile = NULL;
    n->calibration = r->calibration;
    if (r->image.icc_profile && !(n->image.icc_profile = smp_strdup(r->image.icc_profile))) {
        smp_result_free(n);
        return NULL;
    }
    return n;
}

/* The photo's hair, for an area (a scar's ring) with too little of its own. */
static void borrow_hair(smp_result *n, const smp_result *r)
{
    n->hair = r->hair;
    memcpy(n->hair_clusters, r->hair_clusters, sizeof n->hair_clusters);
    n->n_hair_clusters = r->n_hair_clusters;
    n->grey_share = r->grey_share;
}

/* How far to trust an area's figures: the photo's own reckoning, with the
 * factors that apply to an area (a skin not its own, few hair pixels). */
static double area_confidence(const smp_result *n, int own_skin)
{
    int flags = own_skin ? 0 : SMP_FLAG_OTHER_SKIN;
    if (n->hair.pixels < RING_MIN_HAIR_PIXELS)
        flags |= SMP_FLAG_FEW;
    return smp_confidence(n, flags, 0);
}

/* Finds hair and bare scalp in `img` automatically (the masks stay in
 * *found for the caller) and measures the bare scalp into *skin. */
static smp_status find_skin(const smp_lab_image *img, smp_regions *found, smp_colour_stat *skin)
{
    smp_auto_info ai;
    smp_status st = smp_regions_auto(img, found, &ai);
    if (st == SMP_OK && found->scalp) {
        st = smp_measure_region(img, found->scalp, SMP_TARGET_SKIN, NULL, skin);
        skin->source = SMP_SOURCE_AUTO;
    }
    return st;
}

/* An ordinary area: its own hair and bare scalp, found automatically. */
static smp_status run_plain(smp_area *a, const smp_result *r, const smp_lab_image *lab, smp_rect c,
                            const smp_options *opt)
{
    smp_result *n = a->result;
    smp_lab_image crop;
    smp_regions found = {0};
    smp_status st = crop_lab(lab, c, &crop);
    if (st == SMP_OK)
        st = find_skin(&crop, &found, &n->scalp);
    int own_skin = n->scalp.measured;
    if (st == SMP_OK && !own_skin) {
        if (r->scalp.measured) {
            n->scalp = r->scalp;
            if (WARN(n, "no bare scalp was measured in area %s: the scalp of the whole photo is "
                        "used as its skin", a->name))
                st = SMP_E_NOMEM;
        } else {
            memset(&n->scalp, 0, sizeof n->scalp);
            if (WARN(n, "no bare scalp was measured in area %s or in the photo: skin tone not "
                        "measured", a->name))
                st = SMP_E_NOMEM;
        }
    }
    if (st == SMP_OK && found.hair) {
        smp_regions hair_only = {found.hair, NULL, SMP_SOURCE_AUTO, SMP_SOURCE_NONE, NULL};
        st = smp_pipeline_measure(n, &crop, &hair_only, opt, NULL); /* hair against n->scalp */
    }
    if (st == SMP_OK && !n->hair.measured &&
        WARN(n, "no hair found in area %s: no shade recommended for it", a->name))
        st = SMP_E_NOMEM;
    n->confidence = area_confidence(n, own_skin);
    smp_regions_release(&found);
    smp_lab_image_release(&crop);
    return st;
}

/* The scar's tissue: the bare skin the automatic finder sees in the
 * rectangle, or, when it sees none (a scar paler than any skin), every
 * usable pixel of it. */
static smp_status measure_scar_tissue(const smp_lab_image *lab, smp_rect c, smp_colour_stat *out)
{
    smp_lab_image crop;
    smp_regions found = {0};
    memset(out, 0, sizeof *out);
    smp_status st = crop_lab(lab, c, &crop);
    if (st == SMP_OK)
        st = find_skin(&crop, &found, out);
    if (st == SMP_OK && !out->measured)
        st = measure_all_as_skin(&crop, NULL, out);
    smp_regions_release(&found);
    smp_lab_image_release(&crop);
    return st;
}

/* The ring around a scar: the scar rectangle grown by its ring width,
 * clipped to the photo, with the scar's own pixels marked transparent so
 * that neither the finder nor the measurement looks at them. */
static smp_status ring_crop(const smp_lab_image *lab, smp_rect c, smp_lab_image *out)
{
    int m = (c.w < c.h ? c.w : c.h) / 2;
    if (m < RING_MIN_PX)
        m = RING_MIN_PX;
    smp_rect grown = {c.x - m, c.y - m, c.w + 2 * m, c.h + 2 * m}, o;
    smp_rect_clip(grown, lab->width, lab->height, &o); /* holds c: never empty */
    smp_status st = crop_lab(lab, o, out);
    if (st != SMP_OK)
        return st;
    for (int y = c.y - o.y; y < c.y - o.y + c.h; y++)
        memset(out->flags + (size_t)y * (size_t)o.w + (size_t)(c.x - o.x), SMP_PX_TRANSPARENT,
               (size_t)c.w);
    return SMP_OK;
}

/* Measures the ring's bare scalp (a->surround) and its hair (into the
 * nested result, against that scalp); borrows the photo's where the ring
 * has too little. */
static smp_status measure_ring(smp_area *a, const smp_result *r, const smp_lab_image *lab, smp_rect c,
                               const smp_options *opt)
{
    smp_result *n = a->result;
    smp_lab_image ring;
    smp_regions found = {0};
    smp_status st = ring_crop(lab, c, &ring);
    if (st == SMP_OK)
        st = find_skin(&ring, &found, &a->surround);
    if (st == SMP_OK && !a->surround.measured) {
        if (r->scalp.measured)
            a->surround = r->scalp;
        if (WARN(n, "no bare scalp was measured around %s: it is compared with %s", a->name,
                 r->scalp.measured ? "the scalp of the whole photo" : "nothing (no scalp measured)"))
            st = SMP_E_NOMEM;
    }
    n->scalp = a->surround; /* the ring's hair is measured against the ring's skin */
    if (st == SMP_OK && found.hair) {
        smp_regions hair_only = {found.hair, NULL, SMP_SOURCE_AUTO, SMP_SOURCE_NONE, NULL};
        st = smp_pipeline_measure(n, &ring, &hair_only, opt, NULL);
    }
    if (st == SMP_OK && (!n->hair.measured || n->hair.pixels < RING_MIN_HAIR_PIXELS)) {
        size_t had = n->hair.measured ? n->hair.pixels : 0;
        borrow_hair(n, r);
        if (WARN(n, "too little hair around %s (%zu pixels): %s", a->name, had,
                 r->hair.measured ? "the shades are matched to the hair of the whole photo"
                                  : "no shade recommended for it"))
            st = SMP_E_NOMEM;
    }
    smp_regions_release(&found);
    smp_lab_image_release(&ring);
    return st;
}

/* A scar: the tissue against the scalp around it, and the shades healed on
 * the tissue that look like the hair around it. */
static smp_status run_scar(smp_area *a, const smp_result *r, const smp_lab_image *lab, smp_rect c,
                           const smp_options *opt)
{
    smp_result *n = a->result;
    smp_colour_stat tissue;
    smp_status st = measure_scar_tissue(lab, c, &tissue);
    if (st == SMP_OK)
        st = measure_ring(a, r, lab, c, opt);
    if (st != SMP_OK)
        return st;
    n->scalp = tissue; /* shades are predicted on the scar tissue */
    if (!tissue.measured) {
        memset(&n->scalp, 0, sizeof n->scalp);
        if (WARN(n, "the scar %s has too few usable pixels: its tissue was not measured", a->name))
            return SMP_E_NOMEM;
    }
    if (tissue.measured && a->surround.measured) {
        a->scar_delta_l = tissue.lab[0] - a->surround.lab[0];
        a->scar_de00 = smp_de00(tissue.lab, a->surround.lab);
        if (a->scar_delta_l > SCAR_LIGHTER_DL &&
            WARN(n, "the scar %s is much lighter than the scalp around it (L* %.0f against %.0f): "
                    "pigment dots alone may not hide it, because they heal in its paler skin; "
                    "test a small patch first and expect more sessions than usual",
                 a->name, tissue.lab[0], a->surround.lab[0]))
            return SMP_E_NOMEM;
    }
    n->confidence = area_confidence(n, tissue.measured);
    return SMP_OK;
}

/* One area; an area entirely outside the photo is skipped with a warning
 * on the photo (*skipped = 1). */
static smp_status run_area(smp_result *r, smp_area *a, const smp_area_spec *spec,
                           const smp_lab_image *lab, const smp_scale *scale, const smp_palette *palette,
                           const smp_options *opt, const smp_heal_ctx *h, int *skipped)
{
    int w = r->image.width > 0 ? r->image.width : lab->width;
    int hgt = r->image.height > 0 ? r->image.height : lab->height;
    char what[SMP_AREA_NAME_MAX + 8];
    smp_error err;
    smp_rect c;
    *skipped = 0;
    snprintf(what, sizeof what, "area %s", spec->name);
    if (smp_rect_fit(r->file, what, spec->rect, w, hgt, &c, &r->warnings, &r->n_warnings, &err) != SMP_OK) {
        *skipped = 1;
        return WARN(r, "the rectangle of area %s (%d,%d,%d,%d) is outside the %d x %d photo: area "
                       "skipped",
                    spec->name, spec->rect.x, spec->rect.y, spec->rect.w, spec->rect.h, w, hgt)
                   ? SMP_E_NOMEM
                   : SMP_OK;
    }
    a->name = smp_strdup(spec->name);
    a->rect = c;
    a->scar = is_scar(spec->name); /* scar_delta_l, scar_de00 stay 0 unless both are measured */
    a->result = nested_new(r, opt);
    if (!a->name || !a->result)
        return SMP_E_NOMEM;
    smp_rect ca = smp_rect_to_analysed(scale, c); /* c is in displayed pixels */
    smp_status st = a->scar ? run_scar(a, r, lab, ca, opt) : run_plain(a, r, lab, ca, opt);
    if (st == SMP_OK)
        st = smp_recommend(a->result, palette, opt, h);
    return st;
}

smp_status smp_areas_run(smp_result *r, const smp_lab_image *lab, const smp_scale *scale,
                         const smp_palette *palette, const smp_options *opt, const smp_heal_ctx *h)
{
    size_t want = opt->n_areas < SMP_MAX_AREAS ? opt->n_areas : SMP_MAX_AREAS;
    if (want == 0)
        return SMP_OK;
    r->areas = calloc(want, sizeof *r->areas);
    if (!r->areas)
        return SMP_E_NOMEM;
    for (size_t i = 0; i < want; i++) {
        int skipped;
        smp_area *a = &r->areas[r->n_areas];
        smp_status st = run_area(r, a, &opt->areas[i], lab, scale, palette, opt, h, &skipped);
        if (!skipped)
            r->n_areas++; /* counted also on failure: smp_areas_free releases it */
        if (st != SMP_OK)
            return st;
    }
    return SMP_OK;
}

void smp_areas_free(smp_result *r)
{
    if (!r || !r->areas)
        return;
    for (size_t i = 0; i < r->n_areas; i++) {
        free(r->areas[i].name);
        smp_result_free(r->areas[i].result);
    }
    free(r->areas);
    r->areas = NULL;
    r->n_areas = 0;
}
