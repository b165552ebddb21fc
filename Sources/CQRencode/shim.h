#ifndef ELICENCE_CQRENCODE_SHIM_H
#define ELICENCE_CQRENCODE_SHIM_H
#include <qrencode.h>
#endif
