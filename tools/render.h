/*
 * render.h: the scene renderer shared by smp-gen-samples and the tests.
 *
 * In:  an rnd_params: frame size, seed, the hair and skin colours (CIELAB
 *      D50), what the hair looks like (strand widths and lengths, coverage,
 *      where it grows), light (shading, highlights, a colour cast), what else
 *      is in the frame (a grey card, a strip of wall / cloth / comb / hand on
 *      one edge) and the output colour space.
 * Out: an rnd_image: 8-bit RGB pixels in that space as displayed (camera
 *      noise included, no EXIF rotation: the caller stores them rotated if it
 *      wants), and the truth: hair and skin masks, hair coverage, rectangles
 *      and the truth colours.
 * Not: an encoder (tools/encode.h writes the pixels) and not a photo
 *      simulator: no lens, no demosaic. Never links libsmpmatch: it is the
 *      independent source of truth the library is measured against.
 *
 * Deterministic: its own PRNG with the seed from the params, no rand(), no
 * clock, no global state; one params struct always renders the same bytes.
 * Errors (a rectangle outside the frame, a colour outside the output gamut,
 * out of memory) are returned as -1 with one line in the caller's buffer.
 *
 * Sizes of strands and features are given in pixels of a 1200-pixel-wide
 * frame and scale with the frame width, so a 12 MP frame shows the same
 * scene with proportionally wider strands.
 */
#ifndef SMP_TOOLS_RENDER_H
#define SMP_TOOLS_RENDER_H

#include <stddef.h>
#include <stdint.h>

typedef struct rnd_lab {
    double L, a, b; /* CIELAB D50 */
} rnd_lab;

typedef struct rnd_rect {
    int x, y, w, h; /* pixels as displayed */
} rnd_rect;

/* What fills the frame. Anything but RND_SCENE_SCALP is a photo of
 * something else (no hair, no skin), painted with bg[0..2]. */
typedef enum rnd_scene {
    RND_SCENE_SCALP = 0,
    RND_SCENE_WALL,      /* painted wall: gentle light fall-off, a door frame */
    RND_SCENE_CLOTH,     /* woven fabric with folds */
    RND_SCENE_LANDSCAPE, /* sky gradient, hills, sun, trees */
    RND_SCENE_BRICK,     /* brick wall with mortar */
    RND_SCENE_WOOD       /* wooden table top: grain */
} rnd_scene;

/* Where hair grows (fractions are of the frame width / height). */
typedef enum rnd_layout_kind {
    RND_LAYOUT_CROWN,   /* a bare patch around (cx, cy) with radii (rx, ry), a whorl around it */
    RND_LAYOUT_RAMP,    /* bare on one side, dense on the other: temple, hairline */
    RND_LAYOUT_PART,    /* a bare line through (cx, cy) at angle_deg, half-width `edge` */
    RND_LAYOUT_DIFFUSE, /* thinning everywhere: density from slow noise, never below `edge` */
    RND_LAYOUT_EVEN     /* the same density everywhere (stubble everywhere) */
} rnd_layout_kind;

typedef struct rnd_layout {
    rnd_layout_kind kind;
    double cx, cy;    /* crown: centre of the bare patch; part: a point on the part line */
    double rx, ry;    /* crown: radii of the bare patch */
    double angle_deg; /* ramp: direction from bare towards dense; part: direction of the line */
    double flow_deg;  /* combing direction (ramp, diffuse, even); crown/part: swirl */
    double edge;      /* ramp: start of the hair (-1..1); part: bare half-width (of W);
                         diffuse: lowest density (0..1) */
} rnd_layout;

typedef enum rnd_strip {
    RND_STRIP_NONE = 0,
    RND_STRIP_WALL,  /* out-of-focus wall behind the head, bg[0] */
    RND_STRIP_CLOTH, /* a shoulder / towel / cape: weave of bg[0] and bg[1] */
    RND_STRIP_COMB,  /* a dark comb held at the edge: bar with teeth, bg[0], a highlight */
    RND_STRIP_HAND   /* fingers holding the hair back: skin of colour bg[0] (not scalp) */
} rnd_strip;

typedef enum rnd_edge { RND_EDGE_LEFT, RND_EDGE_RIGHT, RND_EDGE_TOP, RND_EDGE_BOTTOM } rnd_edge;

typedef enum rnd_space { RND_SRGB, RND_P3, RND_ADOBE } rnd_space;

/* How a second hair colour mixes in. */
typedef enum rnd_mix {
    RND_MIX_STRANDS, /* a share of the strands has hair2 (salt-and-pepper) */
    RND_MIX_ROOTS    /* every strand has hair2 over the share of its length next to the root */
} rnd_mix;

typedef struct rnd_params {
    rnd_scene scene;
    int width, height;   /* frame as displayed */
    uint64_t seed;

    rnd_lab hair, skin;
    rnd_lab hair2;       /* second hair colour, used when hair2_share > 0 */
    double hair2_share;  /* 0..1 */
    rnd_mix hair2_mix;
    double hair2_zone[4];    /* x, y, w, h as fractions of W, H: where hair2 grows (greyer
                                temples); it fades out over 6 % of W outside the zone.
                                w = 0 (the default): everywhere */

    double strand_width[2];  /* full width range, px at 1200 wide (default 3..7) */
    double strand_length[2]; /* length range, px at 1200 wide (default 110..300; stubble ~6..22) */
    double spread_deg;       /* spread of strand directions around the flow (default 14) */
    double min_half_width;   /* px in the frame; strands never thinner (default 0: no floor) */
    double coverage;         /* mean hair coverage reached in hair_roi (default 0.78) */
    rnd_layout layout;
    double hair_roi[4];      /* x, y, w, h as fractions of W, H: dense hair */
    double scalp_roi[4];     /* bare scalp: strands are kept out of it */
    double card[4];          /* neutral grey card L*50 a*0 b*0; w = 0: none */

    double shading;          /* illumination amplitude around 1.0 (default 0.08) */
    int shade_global;        /* 1: the field's median over the whole frame is 1.0 as
                                well as over each rectangle; 0: over each rectangle only
                                (how the committed samples were made) */
    int highlights;          /* specular highlights on strands (default 1) */

    rnd_strip strip;
    rnd_edge strip_edge;
    double strip_depth;      /* fraction of the frame across the edge (0.08..0.2) */
    rnd_lab bg[3];           /* strip and other-scene colours (rnd_default_bg) */

    double cast_xy[2];       /* scene lit by light of this chromaticity, camera balanced
                                for D50 (Bradford); x = 0: no cast */
    rnd_space space;         /* output colour space */
    double noise;            /* camera noise, standard deviation in 8-bit levels */
} rnd_params;

typedef struct rnd_image {
    int width, height;        /* as displayed */
    unsigned char *rgb;       /* width*height*3, in params.space, as displayed */
    unsigned char *hair_mask; /* width*height, 255 where hair coverage >= 0.5 */
    unsigned char *skin_mask; /* 255 where visible scalp skin: coverage < 0.5, not strip/card */
    float *coverage;          /* hair coverage 0..1 per pixel (after strip and card) */
    int has_rois;             /* 0 for scenes of something else */
    rnd_rect hair_roi, scalp_roi;
    int has_white_roi;
    rnd_rect white_roi;       /* inside the grey card */
    rnd_lab hair_truth;       /* dominant strand colour at illumination 1.0 */
    rnd_lab skin_truth;       /* skin at illumination 1.0 (both 0 for other scenes) */
    int n_strands;
    double roi_coverage;      /* mean hair coverage in hair_roi */
    double roi_full;          /* share of hair_roi pixels fully covered */
} rnd_image;

/* Defaults: a 1024x768 crown close-up, dark hair on light skin, untagged
 * sRGB look, as the committed samples (see the function for the values). */
void rnd_params_init(rnd_params *p);

/* Sets p->bg[] to typical colours for p->strip (or, for another scene, for
 * p->scene), varied by `variant` (any integer). */
void rnd_default_bg(rnd_params *p, int variant);

/* The rectangles a render would report, without rendering; checks that they
 * lie inside the frame, far enough apart and clear of the strip. Returns 0,
 * or -1 with a line in err. */
int rnd_rects(const rnd_params *p, rnd_rect *hair_roi, rnd_rect *scalp_roi, rnd_rect *white_roi,
              int *has_white_roi, char *err, size_t err_size);

/* The truth hair colour: the dominant strand colour (outside hair2_zone when
 * there is one). */
rnd_lab rnd_hair_truth(const rnd_params *p);

/* Renders the scene. On success fills *out (free with rnd_image_free) and
 * returns 0; on failure returns -1 with one line in err and *out empty. */
int rnd_render(const rnd_params *p, rnd_image *out, char *err, size_t err_size);

void rnd_image_free(rnd_image *img);

/* The ICC profile of a space (tools/encode.c; malloc'd, caller frees). */
unsigned char *rnd_space_icc(rnd_space space, size_t *size);

/* Where displayed pixel (x, y) of a w x h frame lies in the image stored with
 * EXIF orientation 1, 3, 6 or 8 (stored w x h, or h x w for 6 and 8). */
size_t rnd_stored_index(int orientation, int w, int h, int x, int y);

#endif /* SMP_TOOLS_RENDER_H */
