/* report.c: the consult sheet. Being written (issue 6). */
#include "report.h"

#include "util.h"

void smp_report_layout_for(const smp_result *r, int photo_w, int photo_h, smp_report_layout *out)
{
    (void)r, (void)photo_w, (void)photo_h;
    *out = (smp_report_layout){0};
}

smp_status smp_report_write(const char *path, const smp_result *r, const smp_lab_image *lab,
                            const unsigned char *hair_mask, const unsigned char *scalp_mask,
                            time_t when, smp_error *err)
{
    (void)r, (void)lab, (void)hair_mask, (void)scalp_mask, (void)when;
    return smp_fail(err, SMP_E_UNSUPPORTED, "%s: consult sheets are not built yet", path);
}
