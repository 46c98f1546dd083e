/*  dn_test_record -- what the agent-side cmocka tests share about
    recording (agent/dn_record.h).  Header-only, for test programs.
*/
#ifndef DN_TEST_RECORD_H
#define DN_TEST_RECORD_H

#include "dn_record.h"

/*  A sale line parsed from "SKU:QTY[@PRICE]" in a currency of two decimal
    digits (CNY); asserts it parses, printing the reason first if not.  */
static inline dn_record_line_t dn_test_line(const char *text)
{
    dn_record_line_t line;
    char why[DN_WHY_SIZE] = "";
    int rc = dn_record_parse_line(text, 2, &line, why, sizeof why);
    if (rc)
        print_error("%s\n", why);
    assert_int_equal(rc, 0);
    return line;
}

#endif
