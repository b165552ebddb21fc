#ifndef ELICENCE_CZLIB_SHIM_H
#define ELICENCE_CZLIB_SHIM_H
#include <zlib.h>

// deflateInit / inflateInit are macros that pass the library version and
// struct size; Swift cannot call macros.
static inline int elicence_deflateInit(z_streamp strm, int level) {
    return deflateInit(strm, level);
}
static inline int elicence_inflateInit(z_streamp strm) {
    return inflateInit(strm);
}
#endif
