/*
 * regions.c: the `regions` stage, masks from rectangles or mask files.
 *
 * In:  --hair-roi / --scalp-roi rectangles (several of each are united),
 *      --hair-mask / --scalp-mask PNG files, the photo's displayed size.
 * Out: one byte per pixel per region, non-zero = measured.
 * Not: automatic region finding (regions_auto.c): what has neither a
 *      rectangle nor a mask is left NULL here and found there.
 *
 * The user's coordinates are pixels of the photo as displayed (EXIF
 * orientation applied, full size); the masks are at the analysed size,
 * which is the photo reduced by a factor f (image.h). Rectangles are
 * clipped and checked against the displayed photo, so messages speak of
 * the sizes the user sees, then mapped by smp_rect_to_analysed; a mask
 * file is decoded straight onto the photo's block grid.
 */
#include "regions.h"

#include <stdlib.h>
#include <string.h>

#include "image.h"
#include "util.h"

int smp_rect_clip(smp_rect r, int width, int height, smp_rect *out)
{
    long x0 = r.x, y0 = r.y, x1 = (long)r.x + r.w, y1 = (long)r.y + r.h;
    if (x0 < 0)
        x0 = 0;
    if (y0 < 0)
        y0 = 0;
    if (x1 > width)
        x1 = width;
    if (y1 > height)
        y1 = height;
    if (r.w <= 0 || r.h <= 0 || x0 >= x1 || y0 >= y1)
        return -1;
    out->x = (int)x0;
    out->y = (int)y0;
    out->w = (int)(x1 - x0);
    out->h = (int)(y1 - y0);
    return 0;
}

smp_status smp_rect_fit(const char *name, const char *what, smp_rect r, int width, int height,
                        smp_rect *out, char ***warnings, size_t *n_warnings, smp_error *err)
{
    if (smp_rect_clip(r, width, height, out) != 0)
        return smp_fail(err, SMP_E_ARG, "%s: the %s rectangle %d,%d,%d,%d is outside the %d x %d photo",
                        name, what, r.x, r.y, r.w, r.h, width, height);
    if (out->x != r.x || out->y != r.y || out->w != r.w || out->h != r.h)
        smp_list_add(warnings, n_warnings,
                     "the %s rectangle %d,%d,%d,%d reaches outside the %d x %d photo: only the part "
                     "inside is used",
                     what, r.x, r.y, r.w, r.h, width, height);
    return SMP_OK;
}

smp_rect smp_rect_to_analysed(const smp_scale *s, smp_rect r)
{
    if (!s || s->factor <= 1)
        return r;
    long f = s->factor;
    long x0 = ((long)r.x + s->off_x) / f, y0 = ((long)r.y + s->off_y) / f;
    long x1 = ((long)r.x + r.w + s->off_x + f - 1) / f, y1 = ((long)r.y + r.h + s->off_y + f - 1) / f;
    smp_rect out = {(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
    if (out.w < 1) /* only for an empty r; a clipped one always covers a block */
        out.w = 1;
    if (out.h < 1)
        out.h = 1;
    return out;
}

/* The displayed size of the photo behind a width x height analysed image. */
static void displayed_size(const smp_scale *s, int width, int height, int *dw, int *dh)
{
    int reduced = s && s->factor > 1 && s->full_width > 0 && s->full_height > 0;
    *dw = reduced ? s->full_width : width;
    *dh = reduced ? s->full_height : height;
}

static smp_status rect_mask(const char *name, const char *what, const smp_rect *rois, size_t n,
                            const smp_scale *scale, int width, int height, unsigned char **mask,
                            char ***warnings, size_t *n_warnings, smp_error *err)
{
    size_t npx = (size_t)width * height;
    int dw, dh;
    displayed_size(scale, width, height, &dw, &dh);
    unsigned char *m = calloc(npx, 1);
    if (!m)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory for the %s region", name, what);
    for (size_t i = 0; i < n; i++) {
        smp_rect shown, c;
        if (smp_rect_fit(name, what, rois[i], dw, dh, &shown, warnings, n_warnings, err) != SMP_OK) {
            free(m);
            return SMP_E_ARG;
        }
        /* Inside the analysed image by construction; the clip only guards. */
        if (smp_rect_clip(smp_rect_to_analysed(scale, shown), width, height, &c) != 0)
            continue;
        for (int y = c.y; y < c.y + c.h; y++)
            memset(m + (size_t)y * width + c.x, 1, (size_t)c.w);
    }
    *mask = m;
    return SMP_OK;
}

/* A mask file: a PNG of the photo's displayed size, decoded in mask mode
 * on the photo's block grid (image.h), so that it arrives reduced like the
 * photo and never exists at full size. */
static smp_status file_mask(const char *name, const char *what, const char *path,
                            const smp_scale *scale, int width, int height, unsigned char **mask,
                            smp_error *err)
{
    unsigned char *data = NULL;
    size_t size = 0;
    smp_image img;
    smp_error e;
    int dw, dh;
    displayed_size(scale, width, height, &dw, &dh);
    smp_status st = smp_read_file(path, SMP_DEFAULT_MAX_FILE_BYTES, &data, &size, &e);
    if (st != SMP_OK)
        return smp_fail(err, st, "%s: the %s mask cannot be used: %s", name, what, e.message);
    if (smp_image_sniff(data, size) != SMP_FORMAT_PNG) {
        free(data);
        return smp_fail(err, SMP_E_FORMAT, "%s: the %s mask %s is not a PNG file", name, what, path);
    }
    smp_load_limits lim = {0};
    lim.grid = scale;
    lim.mask = 1;
    st = smp_image_load_memory(path, data, size, &lim, &img, &e);
    free(data);
    if (st != SMP_OK)
        return smp_fail(err, st, "%s: the %s mask cannot be used: %s", name, what, e.message);
    if (img.scale.full_width != dw || img.scale.full_height != dh || img.width != width ||
        img.height != height) {
        smp_fail(err, SMP_E_ARG, "%s: the %s mask %s is %d x %d pixels but the photo is %d x %d",
                 name, what, path, img.scale.full_width, img.scale.full_height, dw, dh);
        smp_image_release(&img);
        return SMP_E_ARG;
    }
    /* Mask mode gives 8-bit grey, 255 = in, no validity mask: the pixels
     * are the mask. */
    *mask = img.pixels;
    img.pixels = NULL;
    smp_image_release(&img);
    return SMP_OK;
}

static smp_status one_region(const char *name, const char *what, const char *mask_path,
                             const smp_rect *rois, size_t n_rois, const smp_scale *scale,
                             int width, int height,
                             unsigned char **mask, smp_source *source, char ***warnings,
                             size_t *n_warnings, smp_error *err)
{
    *mask = NULL;
    *source = SMP_SOURCE_NONE;
    smp_status st = SMP_OK;
    if (mask_path) {
        st = file_mask(name, what, mask_path, scale, width, height, mask, err);
        *source = SMP_SOURCE_MASK;
    } else if (n_rois > 0) {
        st = rect_mask(name, what, rois, n_rois, scale, width, height, mask, warnings, n_warnings,
                       err);
        *source = SMP_SOURCE_ROI;
    }
    return st;
}

smp_status smp_regions_build(const char *name, const smp_options *opt, const smp_scale *scale,
                             int width, int height, smp_regions *out, char ***warnings, size_t *n_warnings,
                             smp_error *err)
{
    memset(out, 0, sizeof *out);
    if (opt->n_hair_roi > SMP_MAX_ROIS || opt->n_scalp_roi > SMP_MAX_ROIS)
        return smp_fail(err, SMP_E_ARG, "%s: more than %d rectangles of one kind", name, SMP_MAX_ROIS);
    if ((opt->hair_mask && opt->n_hair_roi) || (opt->scalp_mask && opt->n_scalp_roi))
        return smp_fail(err, SMP_E_ARG, "%s: a mask and rectangles were both given for one region", name);
    smp_status st = one_region(name, "hair", opt->hair_mask, opt->hair_roi, opt->n_hair_roi, scale,
                               width, height, &out->hair, &out->hair_source, warnings, n_warnings, err);
    if (st == SMP_OK)
        st = one_region(name, "scalp", opt->scalp_mask, opt->scalp_roi, opt->n_scalp_roi, scale,
                        width, height, &out->scalp, &out->scalp_source, warnings, n_warnings, err);
    if (st != SMP_OK)
        smp_regions_release(out);
    return st;
}

void smp_regions_release(smp_regions *r)
{
    smp_work_free(r->ws, r->hair);
    smp_work_free(r->ws, r->scalp);
    memset(r, 0, sizeof *r);
}
