/*  dn_account -- the names of the ledger's accounts, one name each.

    An account is found by its name (accounts.name, see dn_central.c): a
    partner's commission account is "partner:" and its code, a member's
    referral credit "member:" and its canonical phone.  The ledger opens
    them, the reports read members' by name, the canonical-phones migration
    renames members' (dn_phones), an adjustment is addressed by one: each
    writes the prefix through these names, in C and in SQL alike (string
    literal concatenation: "... LIKE '" DN_ACCOUNT_MEMBER "%'").
*/
#ifndef DN_ACCOUNT_H
#define DN_ACCOUNT_H

#include "dn_valid.h"

#define DN_ACCOUNT_PARTNER "partner:" /* + a partner code: its commission account */
#define DN_ACCOUNT_MEMBER  "member:"  /* + a canonical phone: its referral credit */

/*  Length of a prefix above (without its NUL), for strncmp.  */
#define DN_ACCOUNT_PREFIX_LEN(prefix) (sizeof(prefix) - 1)

/*  Room for any account name and its NUL: the longer prefix (8) and the
    longer of a phone (with its NUL) and a code.  */
#define DN_ACCOUNT_NAME_SIZE (8 + DN_PHONE_SIZE + DN_MAX_CODE_LEN)

#endif
