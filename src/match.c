/*
 * match.c: the `match` stage, ranking palette shades against the hair colour.
 *
 * In:  the hair colour (Lab D50), a palette, a metric.
 * Out: ranked shades with ΔE (chosen metric), ΔE00, verdict and rank.
 * Not: the healed-appearance model; the pipeline says when it is asked for.
 *
 * ΔE2000, ΔE76 and CMC are LittleCMS's (they match the reference vectors in
 * tests/data to 1e-4); ΔE94 is ours (see match.h).
 */
#include "match.h"

#include <lcms2.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

double smp_de94(const double ref[3], const double sample[3])
{
    /* CIE 116-1995, graphic arts: SL = 1, SC = 1 + K1 C1, SH = 1 + K2 C1,
     * C1 the chroma of the reference. ΔH² = Δa² + Δb² − ΔC², clamped at 0
     * against rounding. */
    const double K1 = 0.045, K2 = 0.015;
    double c1 = hypot(ref[1], ref[2]), c2 = hypot(sample[1], sample[2]);
    double dl = ref[0] - sample[0], dc = c1 - c2;
    double da = ref[1] - sample[1], db = ref[2] - sample[2];
    double dh2 = da * da + db * db - dc * dc;
    if (dh2 < 0)
        dh2 = 0;
    double sc = 1.0 + K1 * c1, sh = 1.0 + K2 * c1;
    return sqrt(dl * dl + (dc / sc) * (dc / sc) + dh2 / (sh * sh));
}

double smp_delta_e(smp_metric metric, const double ref[3], const double sample[3])
{
    cmsCIELab a = {ref[0], ref[1], ref[2]}, b = {sample[0], sample[1], sample[2]};
    switch (metric) {
    case SMP_METRIC_DE94: return smp_de94(ref, sample);
    case SMP_METRIC_DE76: return cmsDeltaE(&a, &b);
    case SMP_METRIC_CMC: return cmsCMCdeltaE(&a, &b, 2.0, 1.0); /* l:c = 2:1, ref first */
    case SMP_METRIC_DE2000:
    default: return cmsCIE2000DeltaE(&a, &b, 1.0, 1.0, 1.0);
    }
}

static const char *const metric_names[] = {"de2000", "de94", "de76", "cmc"};

const char *smp_metric_name(smp_metric metric)
{
    return (unsigned)metric < 4 ? metric_names[metric] : "de2000";
}

int smp_metric_parse(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, metric_names[i]) == 0)
            return i;
    return -1;
}

const char *smp_verdict(double de00)
{
    /* Paravina et al. (2015), J Esthet Restor Dent 27(S1):S1-S9: 50:50
     * perceptibility 0.8 and acceptability 1.8 ΔE00; 3.5 is the usual print
     * tolerance (shared/DESIGN.md). */
    if (de00 <= 0.8)
        return "indistinguishable";
    if (de00 <= 1.8)
        return "acceptable";
    if (de00 <= 3.5)
        return "marginal";
    return "no good match";
}

typedef struct scored {
    const smp_shade *shade;
    double de, de00;
} scored;

static int by_delta(const void *pa, const void *pb)
{
    const scored *a = pa, *b = pb;
    if (a->de != b->de)
        return a->de < b->de ? -1 : 1;
    /* Equal distances: palette order, so the output is stable. */
    return a->shade < b->shade ? -1 : a->shade > b->shade;
}

void smp_matches_free(smp_match *m, size_t n)
{
    if (!m)
        return;
    for (size_t i = 0; i < n; i++) {
        free((char *)m[i].name);
        free((char *)m[i].code);
        free((char *)m[i].palette);
        free((char *)m[i].notes);
    }
    free(m);
}

smp_status smp_match_rank(const smp_palette *palette, const double hair[3], smp_metric metric,
                          int top, smp_match **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    size_t n = smp_palette_size(palette);
    if (n == 0 || top <= 0)
        return SMP_OK;
    scored *all = malloc(n * sizeof *all);
    if (!all)
        return SMP_E_NOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const smp_shade *s = smp_palette_get(palette, i);
        if (s->kind == SMP_KIND_DILUENT)
            continue;
        all[m].shade = s;
        all[m].de = smp_delta_e(metric, hair, s->lab);
        all[m].de00 = smp_delta_e(SMP_METRIC_DE2000, hair, s->lab);
        m++;
    }
    qsort(all, m, sizeof *all, by_delta);
    size_t keep = m < (size_t)top ? m : (size_t)top;
    smp_match *res = keep ? calloc(keep, sizeof *res) : NULL;
    if (keep && !res) {
        free(all);
        return SMP_E_NOMEM;
    }
    /* Ranks: a shade within SMP_EQUAL_DE00 of its group's first shade shares
     * that shade's rank ("equally good"); the next group's rank counts the
     * shades before it (1, 1, 3, ...), as in sports tables. */
    double leader = 0;
    int rank = 0;
    for (size_t i = 0; i < keep; i++) {
        const smp_shade *s = all[i].shade;
        if (i == 0 || all[i].de00 - leader > SMP_EQUAL_DE00) {
            rank = (int)i + 1;
            leader = all[i].de00;
        }
        res[i].rank = rank;
        res[i].name = smp_strdup(s->name);
        res[i].code = smp_strdup(s->code);
        res[i].palette = smp_strdup(s->palette);
        res[i].notes = smp_strdup(s->notes);
        memcpy(res[i].lab, s->lab, sizeof res[i].lab);
        res[i].delta_e = all[i].de;
        res[i].delta_e00 = all[i].de00;
        res[i].verdict = smp_verdict(all[i].de00);
        if (!res[i].name || !res[i].code || !res[i].palette || !res[i].notes) {
            smp_matches_free(res, keep);
            free(all);
            return SMP_E_NOMEM;
        }
    }
    free(all);
    *out = res;
    *n_out = keep;
    return SMP_OK;
}
