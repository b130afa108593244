/* Placeholder: the scene renderer (being written). */
#include "render.h"
typedef int render_placeholder;
