/*
 * cfw_msg.h - the messages of the Media Control Channel Framework (RFC 6230 section 9):
 * reading them off a TCP byte stream and writing them
 *
 *   CFW <transaction-id> SYNC|CONTROL|REPORT|K-ALIVE CRLF       a request
 *   CFW <transaction-id> <3 digits> [comment] CRLF               a response
 *   *(Header-Name: value CRLF) CRLF [body of Content-Length bytes]
 *
 * Pure functions over buffers: no sockets. Header names are matched without regard to
 * case; the headers of RFC 6230 that the MRF uses are kept, the others are skipped.
 *
 * SPDX-License-Identifier: BSD-2-Clause
 */
#ifndef MRFC_CFW_MSG_H
#define MRFC_CFW_MSG_H

#include <stdbool.h>
#include <stddef.h>

#define MRFC_CFW_HEAD_MAX 4096          /* start line and headers of a message */
#define MRFC_CFW_BODY_MAX (64 * 1024)   /* Content-Length at most */
#define MRFC_CFW_TID_MAX 64             /* transaction id, NUL included */

enum mrfc_cfw_method {
    MRFC_CFW_RESPONSE = 0,
    MRFC_CFW_SYNC,
    MRFC_CFW_CONTROL,
    MRFC_CFW_REPORT,
    MRFC_CFW_KALIVE,
    MRFC_CFW_OTHER,                     /* a well-formed method this MRF does not know */
};

struct mrfc_cfw_msg {
    char tid[MRFC_CFW_TID_MAX];
    int method;                         /* enum mrfc_cfw_method */
    char method_name[32];
    int status;                         /* responses */
    char dialog_id[128];                /* Dialog-ID */
    char package[64];                   /* Control-Package */
    char ctype[96];                     /* Content-Type (parameters dropped) */
    char packages[256];                 /* Packages */
    char supported[256];                /* Supported */
    char report_status[16];             /* Status (REPORT): update, terminate */
    int keep_alive;                     /* Keep-Alive seconds, -1 when absent */
    int timeout;                        /* Timeout seconds, -1 when absent */
    long seq;                           /* Seq, -1 when absent */
    const char *body;                   /* into the parsed buffer; NULL without a body */
    size_t body_len;
    char error[160];                    /* a message that was framed but is not valid: why */
};

/*
 * mrfc_cfw_parse - the message at the start of @buf (@len bytes) into @out.
 * Returns the bytes it takes (> 0), then out->error is empty when it is valid, or says why
 * not (a bad header: answer 400; out->tid and out->method are set when the start line was
 * read); 0 when more bytes are needed; -EINVAL when the bytes cannot be a CFW message or
 * cannot be framed (a bad start line, no usable Content-Length, a head or body over the
 * limits): the channel cannot go on. @out->error says why in every failure.
 */
long mrfc_cfw_parse(const char *buf, size_t len, struct mrfc_cfw_msg *out);

/* What to write: a request when @method is set, else a response */
struct mrfc_cfw_out {
    const char *tid;
    const char *method;                 /* "CONTROL", ..., or NULL for a response */
    int status;
    const char *comment;                /* of a response, or NULL */
    const char *dialog_id, *package, *ctype, *packages, *supported;
    int keep_alive;                     /* -1: none */
    int timeout;                        /* -1: none */
    const char *body;                   /* NULL: none */
    size_t body_len;
};

/* Write @o into @buf: the length (without a NUL), or -ENOSPC, or -EINVAL for a tid or a
 * header value that would break the framing (control characters). */
long mrfc_cfw_build(char *buf, size_t cap, const struct mrfc_cfw_out *o);

/* Whether @tid is a transaction id of the grammar (1-63 letters, digits, "-.!%*_+`'~") */
bool mrfc_cfw_tid_ok(const char *tid);

/* Whether comma-separated list @list names @item (blanks around items ignored) */
bool mrfc_cfw_list_has(const char *list, const char *item);

#endif
