/* areas.c: per-area analysis (--region). Being written: see issue 4. */
#include <stdlib.h>
#include "pipeline.h"

smp_status smp_areas_run(smp_result *r, const smp_lab_image *lab, const smp_palette *palette,
                         const smp_options *opt, const smp_heal_ctx *h)
{
    (void)r, (void)lab, (void)palette, (void)opt, (void)h;
    return SMP_OK;
}

void smp_areas_free(smp_result *r)
{
    (void)r;
}

int smp_area_parse(const char *text, smp_area_spec *out)
{
    (void)text, (void)out;
    return -1;
}
