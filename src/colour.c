/*
 * colour.c: the `colour` stage, device pixels to CIELAB D50.
 *
 * In:  an smp_image and what its file says about its colours.
 * Out: an smp_lab_image (float Lab D50 + per-pixel flags) and the name of the
 *      profile used, at the size of the given image: the analysis size, as
 *      the loader already reduced it.
 * Not: white balance or chart correction (calibrate.c).
 *
 * Which profile, in order (shared/DESIGN.md "Colour conventions"):
 *   1. an embedded ICC profile (JPEG APP2, PNG iCCP) whose colour space fits
 *      the pixels; a broken or unfitting one (or one the loader could not
 *      read: img->icc_damaged), or one whose conversion gives impossible
 *      colours (probe_transform: NaN, white no lighter than black), falls
 *      back and says so;
 *   2. PNG sRGB chunk: sRGB;
 *   3. PNG gAMA (+ cHRM): a matrix/TRC profile built from them (PNG 1.2
 *      spec, sections 4.2.2.1-4.2.2.2); without cHRM the primaries are sRGB's;
 *      checked and fallen back from like an embedded profile;
 *   4. nothing: sRGB, reported as assumed.
 * Grey photos use a grey profile with the same rules (sRGB's tone curve when
 * untagged).
 *
 * The transform is LittleCMS, relative colorimetric, in a context created for
 * this call only (whose allocator refuses any one block over 64 MB,
 * CMS_MAX_ALLOC: a profile claiming a huge table falls back like a damaged
 * one, before the memory is taken), to float Lab, row by row, with
 * LittleCMS's optimisation off: its optimised 8-bit path (a tabulated
 * transform) is off by up to 0.41 ΔE00 on dark colours, exactly where hair
 * is (measured against tests/data/srgb_to_lab.csv; unoptimised: 0.004).
 * Unoptimised costs about 0.18 µs a pixel, so 8-bit RGB photos go through a
 * cache of their distinct colours (colour_cache below): exact, and a dozen
 * times fewer conversions.
 */
#include "colour.h"
#include "regions.h"

#include <lcms2.h>
#include <lcms2_plugin.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "team.h"
#include "util.h"

/* LittleCMS reports errors through the context's log handler; we keep the
 * last message in the call's own buffer (the context's user data), and the
 * largest allocation cms_malloc refused (0: none). */
typedef struct cms_log {
    char message[160];
    cmsUInt32Number refused;
} cms_log;

static void cms_log_handler(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void)code;
    cms_log *log = cmsGetContextUserData(ctx);
    if (log && text)
        snprintf(log->message, sizeof log->message, "%s", text);
}

/* The most LittleCMS may allocate at once while it reads a photo's
 * profile. A tiny profile can claim a huge table: a lut16 (ICC.1:2010
 * 10.10) with 255 grid points on 3 inputs and 3 outputs asks for
 * 3 x 255^3 x 2 bytes = 99.5 MB, and LittleCMS 2.14 allocates and zeroes
 * that much (cmstypes.c, Type_LUT16_Read: _cmsCalloc of the whole CLUT)
 * before it finds the data missing; its own cap is 512 MB an allocation
 * (cmserr.c, MAX_MEMORY_FOR_ALLOC), and a memory plug-in replaces that
 * check (cmserr.c: "no check is performed" with a plug-in). What a real
 * profile needs: it is at most SMP_DEFAULT_MAX_ICC_BYTES (4 MB, image.h),
 * read into one copy of 4 MB; LittleCMS keeps tables as 16-bit, so an
 * 8-bit CLUT (lut8, mAB precision 1) doubles to 8 MB, a 16-bit or float
 * one stays its size, and text tags become wchar_t, at most 4 bytes for
 * each ASCII byte (Type_Text_Description_Read, cmsMLUsetASCII): 16 MB.
 * 64 MB is four times that, and well under any claim that cannot be real.
 * A caller who raises max_icc_bytes past 16 MB may see a genuine profile
 * refused: it then falls back to sRGB with a warning, never fails. */
#define CMS_MAX_ALLOC ((cmsUInt32Number)64 * 1000 * 1000)

/* Remembers a refused size in the call's cms_log (the context's user
 * data). The temporary context LittleCMS allocates through inside
 * cmsCreateContext may have none (its blocks are small): hence the check. */
static void *cms_refuse(cmsContext ctx, cmsUInt32Number size)
{
    cms_log *log = cmsGetContextUserData(ctx);
    if (log && size > log->refused)
        log->refused = size;
    return NULL;
}

static void *cms_malloc(cmsContext ctx, cmsUInt32Number size)
{
    return size > CMS_MAX_ALLOC ? cms_refuse(ctx, size) : malloc(size);
}

static void *cms_realloc(cmsContext ctx, void *ptr, cmsUInt32Number size)
{
    return size > CMS_MAX_ALLOC ? cms_refuse(ctx, size) : realloc(ptr, size);
}

static void cms_free(cmsContext ctx, void *ptr)
{
    (void)ctx;
    free(ptr);
}

/* The memory plug-in for the per-photo context. LittleCMS copies the three
 * function pointers into the context, and its own calloc, zeroing malloc
 * and dup (left NULL here) call cms_malloc (cmserr.c,
 * _cmsInstallAllocFunctions). ExpectedVersion: per-context plug-ins came
 * with cmsCreateContext in LittleCMS 2.6. */
static const cmsPluginMemHandler cms_capped_memory = {
    .base = {.Magic = cmsPluginMagicNumber, .ExpectedVersion = 2060,
             .Type = cmsPluginMemHandlerSig, .Next = NULL},
    .MallocPtr = cms_malloc,
    .FreePtr = cms_free,
    .ReallocPtr = cms_realloc,
};

/* sRGB's transfer function, IEC 61966-2-1: gamma 2.4, offset 0.055, linear
 * segment 1/12.92 below 0.04045 (LittleCMS parametric curve type 4). */
static cmsToneCurve *srgb_curve(cmsContext ctx)
{
    const cmsFloat64Number p[5] = {2.4, 1.0 / 1.055, 0.055 / 1.055, 1.0 / 12.92, 0.04045};
    return cmsBuildParametricToneCurve(ctx, 4, p);
}

static cmsHPROFILE grey_profile(cmsContext ctx, cmsToneCurve *curve)
{
    /* D50 white, so that neutral greys land on a* = b* = 0. */
    cmsCIExyY white;
    cmsXYZ2xyY(&white, cmsD50_XYZ());
    return cmsCreateGrayProfileTHR(ctx, &white, curve);
}

/* A profile for PNG gAMA (+ cHRM). `gamma` is the file gamma (encoding
 * exponent, e.g. 0.45455), so the decoding curve is 1/gamma. */
static cmsHPROFILE png_gamma_profile(cmsContext ctx, const smp_image *img)
{
    cmsToneCurve *curve = cmsBuildGamma(ctx, 1.0 / img->png_gamma);
    if (!curve)
        return NULL;
    cmsHPROFILE p;
    if (img->channels == 1) {
        p = grey_profile(ctx, curve);
    } else {
        /* Without cHRM: the sRGB/Rec. 709 primaries and D65 white (PNG spec
         * 11.3.3.2 recommends assuming sRGB's when cHRM is absent). */
        double c[8] = {0.3127, 0.3290, 0.64, 0.33, 0.30, 0.60, 0.15, 0.06};
        if (img->png_has_chrm)
            memcpy(c, img->png_chrm, sizeof c);
        cmsCIExyY white = {c[0], c[1], 1.0};
        cmsCIExyYTRIPLE prim = {{c[2], c[3], 1.0}, {c[4], c[5], 1.0}, {c[6], c[7], 1.0}};
        cmsToneCurve *curves[3] = {curve, curve, curve};
        p = cmsCreateRGBProfileTHR(ctx, &white, &prim, curves);
    }
    cmsFreeToneCurve(curve);
    return p;
}

static cmsHPROFILE default_profile(cmsContext ctx, int channels)
{
    if (channels == 3)
        return cmsCreate_sRGBProfileTHR(ctx);
    cmsToneCurve *curve = srgb_curve(ctx);
    if (!curve)
        return NULL;
    cmsHPROFILE p = grey_profile(ctx, curve);
    cmsFreeToneCurve(curve);
    return p;
}

/* "a CMYK profile", "a Lab profile", "a device link": what an unfitting
 * profile is, for the fallback warning. */
static const char *space_words(cmsColorSpaceSignature space, cmsProfileClassSignature cls)
{
    if (cls == cmsSigLinkClass)
        return "a device link";
    if (cls == cmsSigAbstractClass)
        return "an abstract profile";
    if (cls == cmsSigNamedColorClass)
        return "a named-colour profile";
    switch (space) {
    case cmsSigRgbData: return "an RGB profile";
    case cmsSigGrayData: return "a grey profile";
    case cmsSigCmykData: return "a CMYK profile";
    case cmsSigLabData: return "a Lab profile";
    case cmsSigXYZData: return "an XYZ profile";
    default: return "a profile of another colour space";
    }
}

/* Opens the embedded profile if it is usable for these pixels; otherwise
 * returns NULL and says why in `why`. */
static cmsHPROFILE embedded_profile(cmsContext ctx, const smp_image *img, char *why, size_t whylen)
{
    cms_log *log = cmsGetContextUserData(ctx);
    log->message[0] = 0;
    cmsHPROFILE p = cmsOpenProfileFromMemTHR(ctx, img->icc, (cmsUInt32Number)img->icc_size);
    if (!p) {
        snprintf(why, whylen, "the embedded colour profile is damaged%s%.100s",
                 log->message[0] ? ": " : "", log->message);
        return NULL;
    }
    cmsColorSpaceSignature space = cmsGetColorSpace(p);
    cmsProfileClassSignature cls = cmsGetDeviceClass(p);
    int fits = (img->channels == 3 && space == cmsSigRgbData) ||
               (img->channels == 1 && space == cmsSigGrayData);
    if (!fits || cls == cmsSigLinkClass || cls == cmsSigAbstractClass ||
        cls == cmsSigNamedColorClass) {
        snprintf(why, whylen, "the embedded colour profile is %s, not for %s pixels",
                 space_words(space, cls), img->channels == 3 ? "RGB" : "grey");
        cmsCloseProfile(p);
        return NULL;
    }
    return p;
}

static void profile_description(cmsHPROFILE p, char *out, size_t outlen)
{
    char buf[128] = "";
    if (cmsGetProfileInfoASCII(p, cmsInfoDescription, "en", "US", buf, sizeof buf) == 0 || !buf[0])
        snprintf(buf, sizeof buf, "unnamed profile");
    /* Profile descriptions are file data: keep them printable and one line. */
    for (char *c = buf; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c == 0x7f)
            *c = ' ';
    snprintf(out, outlen, "%s", buf);
}

/* Where the profile came from, in the order choose_profile tries them. */
enum { FROM_ICC = 0, FROM_PNG_GAMMA, FROM_DEFAULT };

/* Picks the input profile and fills info, trying the sources from `from`
 * on (a later try, after the earlier source failed the probe), and says
 * in *source which one it took. Returns NULL only when LittleCMS cannot
 * even build sRGB (out of memory). */
static cmsHPROFILE choose_profile(cmsContext ctx, const smp_image *img, smp_colour_info *info,
                                  int from, int *source)
{
    cmsHPROFILE p = NULL;
    *source = FROM_DEFAULT;
    if (from > FROM_ICC) {
        /* the reason is already in info */
    } else if (img->icc && img->icc_size > 0) {
        p = embedded_profile(ctx, img, info->fallback_reason, sizeof info->fallback_reason);
        if (p) {
            profile_description(p, info->profile, sizeof info->profile);
            *source = FROM_ICC;
            return p;
        }
        info->fallback = 1;
    } else if (img->icc_damaged) {
        /* The file has a profile the loader could not read (a PNG iCCP
         * chunk libpng rejected): the colours are not what the file meant,
         * so this is a fallback with a warning, not a quiet "assumed". */
        snprintf(info->fallback_reason, sizeof info->fallback_reason,
                 "the embedded colour profile is damaged");
        info->fallback = 1;
    }
    if (img->png_srgb) {
        snprintf(info->profile, sizeof info->profile, "sRGB (PNG sRGB chunk)");
        return default_profile(ctx, img->channels);
    }
    if (from <= FROM_PNG_GAMMA && img->png_has_gamma && img->png_gamma > 0.01 &&
        img->png_gamma < 10.0) {
        p = png_gamma_profile(ctx, img);
        if (p) {
            snprintf(info->profile, sizeof info->profile, "PNG gAMA %.5g%s", img->png_gamma,
                     img->png_has_chrm ? " + cHRM" : "");
            *source = FROM_PNG_GAMMA;
            return p;
        }
        if (!info->fallback) {
            /* cHRM primaries on one line or a white of y 0: no RGB space. */
            snprintf(info->fallback_reason, sizeof info->fallback_reason,
                     "the PNG's gAMA and cHRM chunks describe no usable colours");
            info->fallback = 1;
        }
    }
    info->assumed = !info->fallback;
    snprintf(info->profile, sizeof info->profile, "%s",
             img->channels == 3 ? "sRGB IEC61966-2.1" : "grey, sRGB tone curve");
    return default_profile(ctx, img->channels);
}

/* Distinct colours: a phone photo of 12 MP holds a few hundred thousand
 * different 8-bit RGB triples, so converting each once and remembering it
 * does the exact (unoptimised) transform's work a dozen times less often,
 * with identical results. A direct-mapped table keyed by the triple (16
 * bytes a slot, at most 2^16 slots = 1 MB); a miss overwrites. Misses of a
 * row are converted together in one LittleCMS call. The size is measured:
 * on a 12 MP JPEG analysed at 1000x750, 2^20 slots took 248 ms in all,
 * 2^18 215 ms, 2^16 203 ms, 2^14 201-226 ms, 2^12 211-231 ms: a larger
 * table saves conversions but costs more in first-touch page faults than
 * it saves (bench/README.md). */
typedef struct cache_slot {
    uint32_t key; /* rgb + 1; 0 = empty */
    float lab[3];
} cache_slot;

typedef struct colour_cache {
    cache_slot *slots;
    uint32_t mask;
    unsigned char *miss_rgb; /* a row's misses, packed */
    float *miss_lab;
    int *miss_x;
} colour_cache;

static void cache_release(colour_cache *c, smp_workspace *ws)
{
    smp_work_free(ws, c->slots);
    free(c->miss_rgb);
    free(c->miss_lab);
    free(c->miss_x);
    memset(c, 0, sizeof *c);
}

/* Sizes the table to about twice the pixel count (fewer collisions), at most
 * 2^20 slots. Leaves c->slots NULL (convert directly) when memory is short. */
static void cache_init(colour_cache *c, size_t npx, size_t width, smp_workspace *ws)
{
    unsigned bits = 10;
    while (bits < 16 && ((size_t)1 << bits) < 2 * npx)
        bits++;
    size_t bytes = ((size_t)1 << bits) * sizeof *c->slots;
    if ((c->slots = smp_work_alloc(ws, bytes)))
        memset(c->slots, 0, bytes);
    c->miss_rgb = malloc(width * 3);
    c->miss_lab = malloc(width * 3 * sizeof(float));
    c->miss_x = malloc(width * sizeof(int));
    if (!c->slots || !c->miss_rgb || !c->miss_lab || !c->miss_x) {
        cache_release(c, ws);
        return;
    }
    c->mask = (uint32_t)(((size_t)1 << bits) - 1);
}

static uint32_t slot_of(uint32_t key, uint32_t mask)
{
    return (key * 2654435761u) >> 12 & mask; /* Knuth's multiplicative hash */
}

static void cached_row(colour_cache *c, cmsHTRANSFORM xf, const unsigned char *row, float *dst, int width)
{
    int misses = 0;
    for (int x = 0; x < width; x++) {
        const unsigned char *p = row + 3 * (size_t)x;
        uint32_t key = ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) + 1;
        const cache_slot *s = &c->slots[slot_of(key, c->mask)];
        if (s->key == key) {
            memcpy(dst + 3 * (size_t)x, s->lab, sizeof s->lab);
        } else {
            memcpy(c->miss_rgb + 3 * (size_t)misses, p, 3);
            c->miss_x[misses++] = x;
        }
    }
    if (!misses)
        return;
    cmsDoTransform(xf, c->miss_rgb, c->miss_lab, (cmsUInt32Number)misses);
    for (int i = 0; i < misses; i++) {
        const unsigned char *p = c->miss_rgb + 3 * (size_t)i;
        uint32_t key = ((uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2]) + 1;
        cache_slot *s = &c->slots[slot_of(key, c->mask)];
        s->key = key;
        memcpy(s->lab, c->miss_lab + 3 * (size_t)i, sizeof s->lab);
        memcpy(dst + 3 * (size_t)c->miss_x[i], s->lab, sizeof s->lab);
    }
}

static void flag_row(const smp_image *img, const unsigned char *row, int y, unsigned char *flags)
{
    int n = img->channels;
    if (n == 3 && img->bits == 8 && !img->valid) { /* the common case, without the general loop's branches */
        for (int x = 0; x < img->width; x++) {
            const unsigned char *p = row + 3 * (size_t)x;
            int high = (p[0] == 255) | (p[1] == 255) | (p[2] == 255);
            int low = (p[0] | p[1] | p[2]) == 0;
            flags[x] = (unsigned char)((high ? SMP_PX_CLIPPED_HIGH : 0) | (low ? SMP_PX_CLIPPED_LOW : 0));
        }
        return;
    }
    for (int x = 0; x < img->width; x++) {
        unsigned char f = 0;
        int high = 0, low = 0;
        for (int c = 0; c < n; c++) {
            unsigned v, max;
            if (img->bits == 16) {
                uint16_t s;
                memcpy(&s, row + ((size_t)x * n + c) * 2, 2);
                v = s;
                max = 65535;
            } else {
                v = row[(size_t)x * n + c];
                max = 255;
            }
            high |= v >= max;
            low += v == 0;
        }
        if (high)
            f |= SMP_PX_CLIPPED_HIGH;
        if (low == n)
            f |= SMP_PX_CLIPPED_LOW;
        if (img->valid && !img->valid[(size_t)y * img->width + x])
            f |= SMP_PX_TRANSPARENT;
        flags[x] = f;
    }
}

/* Whether a transform from the file's own description gives colours a
 * photo can have: black, white, mid grey and (RGB) the three primaries, in
 * the pixels' own format, must come out as finite Lab with L* in -5..105
 * and a*, b* within +-500 (ICC Lab ends at +-128; the margin is for
 * wide-gamut primaries), and white at least PROBE_MIN_RANGE L* above
 * black. Relative colorimetric maps a profile's white to L* 100 and its
 * black near 0: a profile that leaves 20 L* or less between them (all
 * black, white darker than black) describes no photo. Returns NULL when
 * the colours pass, or why not. */
#define PROBE_MIN_RANGE 20.0
static const char *probe_transform(cmsHTRANSFORM xf, const smp_image *img)
{
    static const unsigned char rgb[6][3] = {{0, 0, 0}, {255, 255, 255}, {128, 128, 128},
                                            {255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
    uint16_t in16[6 * 3];
    unsigned char in8[6 * 3];
    float lab[6 * 3];
    int n = img->channels == 3 ? 6 : 3;
    for (int i = 0; i < n; i++)
        for (int c = 0; c < img->channels; c++) {
            in8[i * img->channels + c] = rgb[i][c];
            in16[i * img->channels + c] = (uint16_t)(rgb[i][c] * 257u);
        }
    cmsDoTransform(xf, img->bits == 16 ? (const void *)in16 : (const void *)in8, lab,
                   (cmsUInt32Number)n);
    for (int i = 0; i < 3 * n; i++)
        if (!isfinite(lab[i]))
            return "gives no numbers for some colours";
    for (int i = 0; i < n; i++)
        if (lab[3 * i] < -5.0f || lab[3 * i] > 105.0f || fabsf(lab[3 * i + 1]) > 500.0f ||
            fabsf(lab[3 * i + 2]) > 500.0f)
            return "gives colours outside CIELAB";
    if (lab[3] - lab[0] < PROBE_MIN_RANGE)
        return "makes white no lighter than black";
    return NULL;
}

/* Records that the file's own description from `source` was not used. */
static void fall_back(smp_colour_info *info, int source, const char *why)
{
    snprintf(info->fallback_reason, sizeof info->fallback_reason, "%s %s",
             source == FROM_ICC ? "the embedded colour profile" : "the PNG's gAMA and cHRM chunks",
             why);
    info->fallback = 1;
    info->assumed = 0;
}

/* Why LittleCMS built no transform from a profile: a table over
 * CMS_MAX_ALLOC, or anything else it found wrong. */
static const char *no_transform_words(const cms_log *log, char *buf, size_t len)
{
    if (!log->refused)
        return "is damaged or incomplete (no conversion to Lab)";
    char claim[32], cap[32];
    snprintf(buf, len, "is damaged or too large (it asks for %s at once, over the %s allowed)",
             smp_human_size(log->refused, claim), smp_human_size(CMS_MAX_ALLOC, cap));
    return buf;
}

/* The input profile and its transform to float Lab: the file's own
 * description when it converts believably (probe_transform), else the
 * next source down, with info->fallback and the reason set. */
static smp_status open_transform(cmsContext ctx, const smp_image *img, cmsUInt32Number fmt,
                                 cmsHPROFILE lab, smp_colour_info *info, int from, int *source_out,
                                 cmsHPROFILE *in_out, cmsHTRANSFORM *xf_out)
{
    int source = from;
    for (; from <= FROM_DEFAULT; from = source + 1) {
        cmsHPROFILE in = choose_profile(ctx, img, info, from, &source);
        if (!in)
            return SMP_E_COLOUR;
        cms_log *log = cmsGetContextUserData(ctx);
        log->refused = 0;
        cmsHTRANSFORM xf = cmsCreateTransformTHR(ctx, in, fmt, lab, TYPE_Lab_FLT,
                                                 INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOOPTIMIZE);
        char why[120];
        const char *bad = xf ? probe_transform(xf, img) : no_transform_words(log, why, sizeof why);
        if (!bad || source == FROM_DEFAULT) {
            *source_out = source;
            *in_out = in;
            *xf_out = xf;
            return xf ? SMP_OK : SMP_E_COLOUR;
        }
        if (xf)
            cmsDeleteTransform(xf);
        cmsCloseProfile(in);
        fall_back(info, source, bad);
    }
    return SMP_E_COLOUR; /* not reached: FROM_DEFAULT returns above */
}

/* What one thread needs to convert rows: its colour cache and, for a
 * stored image still to turn, up to TURN_ROWS converted rows before they
 * are spread to their places. A quarter turn sends a stored row down a
 * column of the displayed image, one cache line a pixel; TURN_ROWS rows
 * at a time put TURN_ROWS neighbours side by side instead (the 12 MP photo
 * turned by its EXIF orientation: 4.2 ms of the helper's time during the
 * decode, one row at a time). */
#define TURN_ROWS 32

typedef struct row_converter {
    cmsHTRANSFORM xf;
    smp_seed_pass *seed; /* NULL, or each stored row goes to it too */
    const smp_image *img;
    smp_lab_image *out;
    colour_cache cache;
    float *rows_lab; /* TURN_ROWS rows, a stored image to turn */
    unsigned char *rows_flags;
    size_t non_finite; /* values that came out NaN or infinite */
} row_converter;

static smp_status row_converter_init(row_converter *rc, cmsHTRANSFORM xf, cmsUInt32Number fmt,
                                     const smp_image *img, smp_lab_image *out, size_t npx)
{
    memset(rc, 0, sizeof *rc);
    rc->xf = xf;
    rc->img = img;
    rc->out = out;
    if (fmt == TYPE_RGB_8)
        cache_init(&rc->cache, npx, (size_t)img->width, out->ws);
    if (!img->turn)
        return SMP_OK;
    rc->rows_lab = malloc((size_t)TURN_ROWS * (size_t)img->width * 3 * sizeof(float));
    rc->rows_flags = malloc((size_t)TURN_ROWS * (size_t)img->width);
    return rc->rows_lab && rc->rows_flags ? SMP_OK : SMP_E_NOMEM;
}

static void row_converter_release(row_converter *rc)
{
    cache_release(&rc->cache, rc->out->ws);
    free(rc->rows_lab);
    free(rc->rows_flags);
}

/* Stored rows [y0, y0 + n) (n <= TURN_ROWS), converted into rc->rows_*, to
 * their places as displayed (image.h, smp_orient_walk). A quarter turn
 * (orientations 5-8) lands stored pixel (x, y + 1) next to (x, y), so each
 * column's n pixels go side by side. */
static void spread_rows(row_converter *rc, size_t y0, size_t n)
{
    const smp_image *img = rc->img;
    size_t w = (size_t)img->width;
    ptrdiff_t at0, step;
    smp_orient_walk(img->turn, img->width, img->height, (ptrdiff_t)y0, &at0, &step);
    if (img->turn < 5 || n == 1) { /* a row stays a row: one at a time */
        for (size_t j = 0; j < n; j++) {
            ptrdiff_t at;
            smp_orient_walk(img->turn, img->width, img->height, (ptrdiff_t)(y0 + j), &at, &step);
            for (size_t x = 0; x < w; x++, at += step) {
                memcpy(rc->out->lab + 3 * at, rc->rows_lab + 3 * (j * w + x), 3 * sizeof(float));
                rc->out->flags[at] = rc->rows_flags[j * w + x];
            }
        }
        return;
    }
    ptrdiff_t at1, step1;
    smp_orient_walk(img->turn, img->width, img->height, (ptrdiff_t)y0 + 1, &at1, &step1);
    ptrdiff_t down = at1 - at0; /* from stored row y to y + 1: one place across */
    for (size_t x = 0; x < w; x++) {
        ptrdiff_t at = at0 + (ptrdiff_t)x * step;
        for (size_t j = 0; j < n; j++, at += down) {
            memcpy(rc->out->lab + 3 * at, rc->rows_lab + 3 * (j * w + x), 3 * sizeof(float));
            rc->out->flags[at] = rc->rows_flags[j * w + x];
        }
    }
}

/* Rows [y0, y1) of rc->img into rc->out: in place, or (img->turn) each
 * pixel to its place as displayed, TURN_ROWS rows at a time. */
static void convert_range(row_converter *rc, size_t y0, size_t y1)
{
    const smp_image *img = rc->img;
    size_t w = (size_t)img->width, held = 0;
    for (size_t y = y0; y < y1; y++) {
        const unsigned char *row = img->pixels + y * img->stride;
        float *dst = img->turn ? rc->rows_lab + held * w * 3 : rc->out->lab + y * w * 3;
        unsigned char *flags = img->turn ? rc->rows_flags + held * w : rc->out->flags + y * w;
        if (rc->cache.slots)
            cached_row(&rc->cache, rc->xf, row, dst, img->width);
        else
            cmsDoTransform(rc->xf, row, dst, (cmsUInt32Number)img->width);
        flag_row(img, row, (int)y, flags);
        smp_seed_pass_row(rc->seed, (int)y, dst, flags);
        size_t bad = 0;
        for (size_t i = 0; i < 3 * w; i++)
            bad += !isfinite(dst[i]);
        rc->non_finite += bad;
        if (img->turn && ++held == TURN_ROWS) {
            spread_rows(rc, y + 1 - held, held);
            held = 0;
        }
    }
    if (held)
        spread_rows(rc, y1 - held, held);
}

static void convert_part(void *arg, int part)
{
    row_converter *rc = (row_converter *)arg + part;
    size_t lo, hi;
    smp_part_range((size_t)rc->img->height, part, &lo, &hi);
    convert_range(rc, lo, hi);
}

/* Converts every row through xf, each part of the rows on its thread
 * with a colour cache of its own (exact, so how the rows are cut changes
 * nothing), and flags the pixels. *non_finite: values that came out NaN
 * or infinite. */
static smp_status convert_rows(cmsHTRANSFORM xf, const smp_image *img, cmsUInt32Number fmt,
                               smp_lab_image *out, size_t npx, size_t *non_finite)
{
    row_converter rc[SMP_PARTS];
    smp_status st = SMP_OK;
    for (int part = 0; part < SMP_PARTS; part++)
        if (row_converter_init(&rc[part], xf, fmt, img, out, npx / SMP_PARTS) != SMP_OK)
            st = SMP_E_NOMEM;
    if (st == SMP_OK)
        smp_team_split(out->team, convert_part, rc);
    *non_finite = 0;
    for (int part = 0; part < SMP_PARTS; part++) {
        *non_finite += rc[part].non_finite;
        row_converter_release(&rc[part]);
    }
    return st;
}

/* Any pixel whose Lab is not a finite number is made transparent (never
 * measured) with Lab 0,0,0, so that NaN or infinity can reach no mean, no
 * match and no output. Returns how many there were. */
static size_t drop_non_finite(smp_lab_image *out, size_t npx)
{
    size_t bad = 0;
    for (size_t i = 0; i < npx; i++) {
        float *p = out->lab + 3 * i;
        if (isfinite(p[0]) && isfinite(p[1]) && isfinite(p[2]))
            continue;
        p[0] = p[1] = p[2] = 0.0f;
        out->flags[i] |= SMP_PX_TRANSPARENT;
        bad++;
    }
    return bad;
}

/* One conversion's colour context (with its log and memory cap), the
 * Lab profile, the photo's profile and the transform between them. It
 * stays where it was opened: the context keeps a pointer to its log. */
struct conversion {
    cms_log log;
    cmsPluginMemHandler memory; /* the API takes a non-const pointer */
    cmsContext ctx;
    cmsHPROFILE lab, in;
    cmsHTRANSFORM xf;
    cmsUInt32Number fmt;
    int source;
};
typedef struct conversion conversion;

static void conversion_close(conversion *c)
{
    if (c->xf)
        cmsDeleteTransform(c->xf);
    if (c->in)
        cmsCloseProfile(c->in);
    if (c->lab)
        cmsCloseProfile(c->lab);
    if (c->ctx)
        cmsDeleteContext(c->ctx);
    c->xf = c->in = c->lab = c->ctx = NULL;
}

static smp_status transform_failed(const conversion *c, const char *name, smp_error *err)
{
    return smp_fail(err, SMP_E_COLOUR, "%s: colour management failed (%s)", name,
                    c->log.message[0] ? c->log.message : "cannot build the profiles");
}

/* The checks on img, then the transform from its own description (or the
 * next source down: open_transform). *npx: its pixel count. */
static smp_status conversion_open(conversion *c, const char *name, const smp_image *img,
                                  smp_colour_info *info, size_t *npx, smp_error *err)
{
    memset(c, 0, sizeof *c);
    memset(info, 0, sizeof *info);
    if (!img->pixels || img->width <= 0 || img->height <= 0 ||
        (img->channels != 1 && img->channels != 3) || (img->bits != 8 && img->bits != 16))
        return smp_fail(err, SMP_E_ARG, "%s: no pixels to convert", name);
    size_t nfloat;
    if (smp_mul_size((size_t)img->width, (size_t)img->height, npx) ||
        smp_mul_size(*npx, 3 * sizeof(float), &nfloat))
        return smp_fail(err, SMP_E_LIMIT, "%s: photo too large", name);
    c->memory = cms_capped_memory;
    c->ctx = cmsCreateContext(&c->memory, &c->log);
    if (!c->ctx)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory (colour management)", name);
    cmsSetLogErrorHandlerTHR(c->ctx, cms_log_handler);
    c->lab = cmsCreateLab4ProfileTHR(c->ctx, NULL);
    c->fmt = img->channels == 3 ? (img->bits == 16 ? TYPE_RGB_16 : TYPE_RGB_8)
                                : (img->bits == 16 ? TYPE_GRAY_16 : TYPE_GRAY_8);
    c->source = FROM_ICC;
    if (!c->lab ||
        open_transform(c->ctx, img, c->fmt, c->lab, info, FROM_ICC, &c->source, &c->in, &c->xf) != SMP_OK)
        return transform_failed(c, name, err);
    return SMP_OK;
}

/* out's buffers for img's npx pixels as displayed (a stored image still to
 * turn a quarter has its sides swapped). Written whole soon after: huge
 * pages make the first touch cheap. */
static smp_status lab_alloc(smp_lab_image *out, const smp_image *img, size_t npx, const char *name,
                            smp_error *err)
{
    out->lab = smp_work_alloc(out->ws, npx * 3 * sizeof(float));
    out->flags = smp_work_alloc(out->ws, npx);
    if (!out->lab || !out->flags)
        return smp_fail(err, SMP_E_NOMEM, "%s: out of memory converting colours", name);
    int turned = img->turn >= 5; /* image.h */
    out->width = turned ? img->height : img->width;
    out->height = turned ? img->width : img->height;
    return SMP_OK;
}

/* A profile that passed the probe and still gives NaN or infinity for
 * some of the photo's own colours (now in out) is not used either: the
 * next source down converts img again. sRGB never does; should it, those
 * pixels are left out (drop_non_finite). */
static smp_status conversion_check(conversion *c, const char *name, const smp_image *img,
                                   smp_lab_image *out, smp_colour_info *info, size_t npx,
                                   size_t non_finite, smp_error *err)
{
    while (non_finite && drop_non_finite(out, npx) && c->source != FROM_DEFAULT) {
        fall_back(info, c->source, "gives no numbers for some of the photo's colours");
        cmsDeleteTransform(c->xf);
        cmsCloseProfile(c->in);
        c->xf = NULL;
        c->in = NULL;
        if (open_transform(c->ctx, img, c->fmt, c->lab, info, c->source + 1, &c->source, &c->in, &c->xf) !=
            SMP_OK)
            return transform_failed(c, name, err);
        if (convert_rows(c->xf, img, c->fmt, out, npx, &non_finite) != SMP_OK)
            return smp_fail(err, SMP_E_NOMEM, "%s: out of memory converting colours", name);
    }
    return SMP_OK;
}

smp_status smp_colour_to_lab(const char *name, const smp_image *img, smp_lab_image *out,
                             smp_colour_info *info, smp_error *err)
{
    memset(out, 0, sizeof *out);
    out->ws = img->ws;
    out->team = img->team;
    conversion c;
    size_t npx;
    smp_status st = conversion_open(&c, name, img, info, &npx, err);
    if (st == SMP_OK)
        st = lab_alloc(out, img, npx, name, err);
    size_t non_finite = 0;
    if (st == SMP_OK && convert_rows(c.xf, img, c.fmt, out, npx, &non_finite) != SMP_OK)
        st = smp_fail(err, SMP_E_NOMEM, "%s: out of memory converting colours", name);
    if (st == SMP_OK)
        st = conversion_check(&c, name, img, out, info, npx, non_finite, err);
    conversion_close(&c);
    if (st != SMP_OK)
        smp_lab_image_release(out);
    return st;
}

/* ---- converting while the photo decodes ------------------------------- */

static void stream_job(void *arg, int part);

static int stream_begin(void *arg, const smp_image *stored)
{
    smp_colour_stream *cs = arg;
    if (!cs->team)
        return 0;
    cs->stored = *stored;
    cs->begun = 1;
    smp_team_start(cs->team, stream_job, cs);
    return 1;
}

/* The decoder's side: a store, and a signal only when the helper sleeps
 * (the two sequentially consistent pairs, decoded/ended then waiting here
 * and waiting then decoded/ended in stream_job, cannot both miss). */
static void wake_helper(smp_colour_stream *cs)
{
    if (atomic_load(&cs->waiting)) {
        pthread_mutex_lock(&cs->lock);
        pthread_cond_signal(&cs->more);
        pthread_mutex_unlock(&cs->lock);
    }
}

static void stream_rows(void *arg, int done)
{
    smp_colour_stream *cs = arg;
    atomic_store(&cs->decoded, done);
    wake_helper(cs);
}

static void stream_end(void *arg)
{
    smp_colour_stream *cs = arg;
    atomic_store(&cs->ended, 1);
    wake_helper(cs);
    smp_team_wait(cs->team); /* the job reads the stored pixels no more */
}

/* How long the helper watches for the decoder's next rows before it
 * sleeps: about half a millisecond, half a batch of 32 rows of the 12 MP
 * photo. A sleep costs the decoder a wake-up call for each batch, and on
 * our VM each wake-up crosses to the other virtual CPU. */
#define STREAM_SPINS 20000

/* Whether the decoder has rows past `converted` for the helper, or ended. */
static int rows_waiting(smp_colour_stream *cs, int converted)
{
    return atomic_load(&cs->ended) || atomic_load(&cs->decoded) != converted;
}

static int rows_came(smp_colour_stream *cs, int converted)
{
    for (int i = 0; i < STREAM_SPINS; i++) {
        if (rows_waiting(cs, converted))
            return 1;
        smp_cpu_pause();
    }
    return 0;
}

/* The helper's spare work, one piece at a time, for the moments when it
 * has converted every row decoded so far: cs->before (once), then the
 * reserve's next huge page (util.h, smp_work_touch; 2 MB, about 0.2 ms
 * when the host has the memory at hand). Returns 0 when none is left. */
#define TOUCH_STEP ((size_t)2 * 1024 * 1024)

static int spare_work(smp_colour_stream *cs)
{
    if (cs->before) {
        cs->before(cs->before_arg, 1);
        cs->before = NULL;
        return 1;
    }
    if (cs->touching)
        cs->touching = smp_work_touch(cs->out.ws, TOUCH_STEP);
    return cs->touching;
}

/* On the photo's helper: the conversion, then each batch of rows as the
 * decoder reports it; while it waits for rows, its spare work (so that
 * the rows come first when the helper starts late or the host holds it
 * up); then whatever of cs->before is left. */
static void stream_job(void *arg, int part)
{
    (void)part;
    smp_colour_stream *cs = arg;
    const smp_image *img = &cs->stored;
    size_t npx;
    /* First the faults of the rows the decoder has still to write (its
     * pages are new: 2 MB pages, each zeroed by the kernel, 0.1-0.2 ms on
     * the decoder's thread when it reaches them). */
    smp_prefault(img->pixels, (size_t)img->height * img->stride);
    cs->conv = malloc(sizeof *cs->conv);
    cs->st = cs->conv ? conversion_open(cs->conv, cs->name, img, &cs->info, &npx, &cs->err)
                      : smp_fail(&cs->err, SMP_E_NOMEM, "%s: out of memory (colour management)", cs->name);
    if (cs->st == SMP_OK)
        cs->st = lab_alloc(&cs->out, img, npx, cs->name, &cs->err);
    row_converter rc;
    if (cs->st == SMP_OK && row_converter_init(&rc, cs->conv->xf, cs->conv->fmt, img, &cs->out, npx) != SMP_OK) {
        row_converter_release(&rc);
        cs->st = smp_fail(&cs->err, SMP_E_NOMEM, "%s: out of memory converting colours", cs->name);
    }
    if (cs->st != SMP_OK) {
        spare_work(cs); /* cs->before */
        return;
    }
    /* What the region finder and the measurement take after the decoding
     * (about the Lab image's size again), mapped now and touched in the
     * waits. */
    smp_work_reserve(cs->out.ws, npx * 3 * sizeof(float));
    cs->touching = 1;
    if (cs->seed && smp_seed_pass_begin(cs->seed, &cs->out, img->turn, img->width, img->height))
        rc.seed = cs->seed;
    int converted = 0;
    for (;;) {
        int came = rows_waiting(cs, converted);
        while (!came && spare_work(cs))
            came = rows_waiting(cs, converted);
        if (!came && !rows_came(cs, converted)) {
            pthread_mutex_lock(&cs->lock);
            atomic_store(&cs->waiting, 1);
            while (!rows_waiting(cs, converted))
                pthread_cond_wait(&cs->more, &cs->lock);
            atomic_store(&cs->waiting, 0);
            pthread_mutex_unlock(&cs->lock);
        }
        int over = atomic_load(&cs->ended); /* first: the last rows were stored before it */
        int upto = atomic_load(&cs->decoded);
        convert_range(&rc, (size_t)converted, (size_t)upto);
        smp_seed_pass_follow(rc.seed, cs->out.lab, upto);
        converted = upto;
        if (over)
            break;
    }
    cs->converted = converted;
    cs->non_finite = rc.non_finite;
    row_converter_release(&rc);
    cs->touching = 0; /* what is left untouched is touched when used */
    spare_work(cs); /* cs->before, if the rows never left time for it */
}

void smp_colour_stream_init(smp_colour_stream *cs, const char *name, smp_workspace *ws, smp_team *team,
                            smp_part_fn before, void *before_arg)
{
    memset(cs, 0, sizeof *cs);
    atomic_init(&cs->decoded, 0);
    atomic_init(&cs->ended, 0);
    atomic_init(&cs->waiting, 0);
    cs->name = name;
    cs->team = team;
    cs->before = before;
    cs->before_arg = before_arg;
    cs->out.ws = ws;
    cs->out.team = team;
    pthread_mutex_init(&cs->lock, NULL);
    pthread_cond_init(&cs->more, NULL);
    cs->sink.begin = stream_begin;
    cs->sink.rows = stream_rows;
    cs->sink.end = stream_end;
    cs->sink.ctx = cs;
}

smp_status smp_colour_stream_finish(smp_colour_stream *cs, const smp_image *img, smp_lab_image *out,
                                    smp_colour_info *info, smp_error *err)
{
    if (!cs->begun)
        return smp_colour_to_lab(cs->name, img, out, info, err);
    memset(out, 0, sizeof *out);
    if (cs->st != SMP_OK) {
        *err = cs->err;
        return cs->st;
    }
    if (cs->converted != img->height || img->pixels != cs->stored.pixels || img->turn != cs->stored.turn) {
        /* not the rows that were followed (not seen: the decoder keeps them) */
        if (cs->seed)
            cs->seed->complete = 0;
        return smp_colour_to_lab(cs->name, img, out, info, err);
    }
    if (cs->seed && cs->non_finite)
        cs->seed->complete = 0; /* conversion_check changes the image */
    *out = cs->out;
    *info = cs->info;
    out->team = img->team;
    memset(&cs->out, 0, sizeof cs->out); /* out owns the buffers now */
    smp_status st = conversion_check(cs->conv, cs->name, img, out, info, (size_t)out->width * out->height,
                                     cs->non_finite, err);
    if (st != SMP_OK)
        smp_lab_image_release(out);
    return st;
}

void smp_colour_stream_release(smp_colour_stream *cs)
{
    if (cs->conv)
        conversion_close(cs->conv);
    free(cs->conv);
    smp_lab_image_release(&cs->out);
    pthread_cond_destroy(&cs->more);
    pthread_mutex_destroy(&cs->lock);
}

void smp_lab_image_release(smp_lab_image *lab)
{
    if (!lab)
        return;
    smp_work_free(lab->ws, lab->lab);
    smp_work_free(lab->ws, lab->flags);
    memset(lab, 0, sizeof *lab);
}

void smp_exposure_add(smp_exposure *e, const float *lab, const unsigned char *flags, size_t n)
{
    size_t there = 0, high = 0, low = 0;
    for (size_t i = 0; i < n; i++) {
        if (flags[i] & SMP_PX_TRANSPARENT)
            continue;
        there++;
        high += (flags[i] & SMP_PX_CLIPPED_HIGH) != 0;
        low += (flags[i] & SMP_PX_CLIPPED_LOW) != 0;
        int b = (int)lab[3 * i];
        e->lightness[b < 0 ? 0 : b > 100 ? 100 : b]++;
    }
    e->there += there;
    e->high += high;
    e->low += low;
}

void smp_lab_to_xyz(const double lab[3], double xyz[3])
{
    cmsCIELab l = {lab[0], lab[1], lab[2]};
    cmsCIEXYZ x;
    cmsLab2XYZ(NULL, &x, &l); /* NULL: the ICC D50 white */
    xyz[0] = x.X;
    xyz[1] = x.Y;
    xyz[2] = x.Z;
}

void smp_xyz_to_lab(const double xyz[3], double lab[3])
{
    cmsCIEXYZ x = {xyz[0], xyz[1], xyz[2]};
    cmsCIELab l;
    cmsXYZ2Lab(NULL, &l, &x);
    lab[0] = l.L;
    lab[1] = l.a;
    lab[2] = l.b;
}

double smp_de00(const double a[3], const double b[3])
{
    cmsCIELab x = {a[0], a[1], a[2]}, y = {b[0], b[1], b[2]};
    return cmsCIE2000DeltaE(&x, &y, 1.0, 1.0, 1.0);
}

double smp_ita_deg(const double lab[3])
{
    /* Chardon, Cretois & Hourseau (1991), Int J Cosmet Sci 13(4):191-208. */
    return atan2(lab[0] - 50.0, lab[2]) * 180.0 / SMP_PI;
}

const char *smp_ita_category(double ita)
{
    /* Del Bino et al. (2006), Br J Dermatol 155:1073 (categories as in
     * shared/DESIGN.md). */
    if (isnan(ita))
        return "unknown";
    if (ita > 55.0)
        return "very light";
    if (ita > 41.0)
        return "light";
    if (ita > 28.0)
        return "intermediate";
    if (ita > 10.0)
        return "tan";
    if (ita > -30.0)
        return "brown";
    return "dark";
}

void smp_lab_to_hex(const double lab[3], char hex[8])
{
    /* A context and transform per call: cheap next to a photo's analysis,
     * and it keeps this function free of shared state. */
    unsigned char rgb[3] = {0, 0, 0};
    cmsContext ctx = cmsCreateContext(NULL, NULL);
    if (ctx) {
        cmsHPROFILE l = cmsCreateLab4ProfileTHR(ctx, NULL);
        cmsHPROFILE s = cmsCreate_sRGBProfileTHR(ctx);
        cmsHTRANSFORM xf = (l && s) ? cmsCreateTransformTHR(ctx, l, TYPE_Lab_DBL, s, TYPE_RGB_8,
                                                            INTENT_RELATIVE_COLORIMETRIC, 0)
                                    : NULL;
        if (xf) {
            cmsCIELab in = {lab[0], lab[1], lab[2]};
            cmsDoTransform(xf, &in, rgb, 1);
            cmsDeleteTransform(xf);
        }
        if (l)
            cmsCloseProfile(l);
        if (s)
            cmsCloseProfile(s);
        cmsDeleteContext(ctx);
    }
    snprintf(hex, 8, "#%02x%02x%02x", rgb[0], rgb[1], rgb[2]);
}
