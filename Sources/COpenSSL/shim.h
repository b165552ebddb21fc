#ifndef ELICENCE_COPENSSL_SHIM_H
#define ELICENCE_COPENSSL_SHIM_H
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/err.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/obj_mac.h>
#include <openssl/x509.h>
#include <openssl/core_names.h>
#include <openssl/params.h>

// BIO_get_mem_data is a macro over BIO_ctrl.
static inline long elicence_BIO_get_mem_data(BIO *bio, char **data) {
    return BIO_get_mem_data(bio, data);
}

// OPENSSL_free is a macro over CRYPTO_free.
static inline void elicence_OPENSSL_free(void *ptr) {
    OPENSSL_free(ptr);
}
#endif
