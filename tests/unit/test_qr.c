/*  test_qr -- unit tests for dn_qr, the QR code HQ draws in a terminal.

    The promises under test: the drawing of the README's enrollment code
    (143 characters: version 7, 45 modules) is 27 lines of 53 characters,
    two modules a line; a quiet zone of 4 light modules on every side; the
    modules drawn are exactly the matrix libqrencode makes (one byte-mode
    segment, level L, case-sensitive), and exactly what the `qrencode -8`
    command makes of the same text (the tool a reader checks a drawing
    with; skipped without it); the size follows from the length alone (a
    code of the same length full of digits, which mixed segments would
    pack a version smaller, draws at the same size); light modules are the blocks; DN_QR_ANSI
    wraps each line in its colours and changes nothing else; an empty text,
    one too long for any QR code and a full disk are refused.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <qrencode.h>

#include "dn_error.h"
#include "dn_qr.h"

/* the README's example enrollment code (tests/unit/test_bundle.c) */
#define CODE                                                                      \
    "DN1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6_IpvQcnDhbW0aU8yDFa4JnmSKyjFKhfSU1EY-" \
    "uzhSwhTSE9QLUJKMSA3Y2NmZGJkZTUzM2ZjMWM3NGZjZjc4YmUzZjIxMTU2ZaUJlIQ"

/* 143 bytes in byte mode at level L: version 6 holds 134, version 7 154;
   version 7 is 17 + 4 x 7 = 45 modules a side, 45 + 2 x 4 = 53 with the
   quiet zone, drawn in (53 + 1) / 2 = 27 lines */
#define WIDTH 45
#define SIZE  (WIDTH + 2 * DN_QR_QUIET_ZONE)
#define LINES ((SIZE + 1) / 2)

#define FULL  "\xe2\x96\x88" /* both modules light */
#define UPPER "\xe2\x96\x80" /* the upper one light */
#define LOWER "\xe2\x96\x84" /* the lower one light */

/*  Draws text with flags into a new string (caller frees).  */
static char *s_draw(const char *text, int flags, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_non_null(out);
    *rc = dn_qr_render(text, flags, out);
    assert_int_equal(fclose(out), 0);
    return buf;
}

/*  Reads a plain drawing into light[row][col] (1 light, 0 dark; the half
    below the last line, which is no module, is left -1).  Checks that it
    has LINES lines of SIZE characters, each a block, a half block or a
    space.  */
static void s_read(const char *drawing, int light[SIZE + 1][SIZE])
{
    const char *p = drawing;
    int line = 0;
    for (int r = 0; r <= SIZE; r++)
        for (int c = 0; c < SIZE; c++)
            light[r][c] = -1;
    while (*p) {
        int col = 0;
        assert_true(line < LINES);
        while (*p && *p != '\n') {
            int top, bottom;
            if (*p == ' ') {
                top = bottom = 0;
                p++;
            } else if (strncmp(p, FULL, 3) == 0) {
                top = bottom = 1;
                p += 3;
            } else if (strncmp(p, UPPER, 3) == 0) {
                top = 1, bottom = 0;
                p += 3;
            } else {
                assert_memory_equal(p, LOWER, 3);
                top = 0, bottom = 1;
                p += 3;
            }
            assert_true(col < SIZE);
            light[2 * line][col] = top;
            light[2 * line + 1][col] = bottom;
            col++;
        }
        assert_int_equal(col, SIZE);
        assert_int_equal(*p, '\n');
        p++;
        line++;
    }
    assert_int_equal(line, LINES);
}

static void test_size_and_quiet_zone(void **state)
{
    static int light[SIZE + 1][SIZE];
    int rc, dark = 0;
    char *drawing = s_draw(CODE, 0, &rc), *last;
    (void)state;
    assert_int_equal(rc, 0);
    s_read(drawing, light); /* 27 lines of 53 characters */
    /* rows 0..3 and 49..52, columns 0..3 and 49..52: light */
    for (int r = 0; r < SIZE; r++)
        for (int c = 0; c < SIZE; c++)
            if (r < 4 || r >= SIZE - 4 || c < 4 || c >= SIZE - 4)
                assert_int_equal(light[r][c], 1);
            else
                dark += light[r][c] == 0;
    /* the first two lines are 53 full blocks; the last, row 52 alone,
       53 upper halves */
    for (int c = 0; c < SIZE; c++) {
        assert_memory_equal(drawing + 3 * c, FULL, 3);
        assert_memory_equal(drawing + 3 * SIZE + 1 + 3 * c, FULL, 3);
    }
    last = drawing + strlen(drawing) - 3 * SIZE - 1;
    for (int c = 0; c < SIZE; c++)
        assert_memory_equal(last + 3 * c, UPPER, 3);
    assert_string_equal(last + 3 * SIZE, "\n");
    /* the top-left finder: its 7 x 7 ring dark, then light, its 3 x 3
       centre dark (rows and columns 4..10); so light is not all ink */
    for (int i = 0; i < 7; i++) {
        assert_int_equal(light[4][4 + i], 0);
        assert_int_equal(light[10][4 + i], 0);
        assert_int_equal(light[4 + i][4], 0);
        assert_int_equal(light[4 + i][10], 0);
    }
    assert_int_equal(light[5][5], 1);
    assert_int_equal(light[7][7], 0);
    assert_true(dark > 0 && dark < WIDTH * WIDTH);
    free(drawing);
}

/*  The drawing's modules inside the quiet zone equal qr's.  */
static void s_same_matrix(const char *drawing, const unsigned char *data, int width)
{
    static int light[SIZE + 1][SIZE];
    assert_int_equal(width, WIDTH);
    s_read(drawing, light);
    for (int r = 0; r < WIDTH; r++)
        for (int c = 0; c < WIDTH; c++)
            if (light[r + 4][c + 4] != !(data[r * WIDTH + c] & 1))
                fail_msg("module (%d, %d) differs", r, c);
}

static void test_matrix_libqrencode(void **state)
{
    int rc;
    char *drawing = s_draw(CODE, 0, &rc), *lower;
    QRcode *qr = QRcode_encodeString8bit(CODE, 0, QR_ECLEVEL_L);
    (void)state;
    assert_int_equal(rc, 0);
    assert_non_null(qr);
    assert_int_equal(qr->version, 7);
    s_same_matrix(drawing, qr->data, qr->width);
    QRcode_free(qr);
    /* case matters: the code lower-cased is another drawing */
    lower = s_draw("DN1:gxrjcdovl2hxlmv4yw1wbguuy29tojc3mda6", 0, &rc);
    assert_int_equal(rc, 0);
    free(drawing);
    drawing = s_draw("DN1:GXRjcDovL2hxLmV4YW1wbGUuY29tOjc3MDA6", 0, &rc);
    assert_string_not_equal(drawing, lower);
    free(lower);
    free(drawing);
}

/*  `qrencode -8 -t ASCII -m 0` of CODE: "##" a dark module, "  " a light one,
    WIDTH lines.  */
static void test_matrix_qrencode_command(void **state)
{
    static unsigned char data[WIDTH * WIDTH];
    char line[4 * WIDTH + 8];
    int rc, rows = 0;
    char *drawing;
    FILE *p;
    (void)state;
    if (system("command -v qrencode >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_qr: no qrencode command (make deps): its check skipped\n");
        skip();
    }
    p = popen("qrencode -8 -t ASCII -m 0 -o - '" CODE "'", "r");
    assert_non_null(p);
    while (fgets(line, sizeof line, p)) {
        size_t len = strcspn(line, "\n");
        assert_true(rows < WIDTH);
        assert_true(len <= 2 * WIDTH);
        for (int c = 0; c < WIDTH; c++)
            data[rows * WIDTH + c] = (size_t)(2 * c) < len && line[2 * c] == '#';
        rows++;
    }
    assert_int_equal(pclose(p), 0);
    assert_int_equal(rows, WIDTH);
    drawing = s_draw(CODE, 0, &rc);
    assert_int_equal(rc, 0);
    s_same_matrix(drawing, data, WIDTH);
    free(drawing);
}

/*  The number of lines of a drawing.  */
static int s_lines(const char *drawing)
{
    int n = 0;
    for (const char *p = drawing; *p; p++)
        n += *p == '\n';
    return n;
}

static void test_size_by_length(void **state)
{
    (void)state;
    /* 137 characters each (what the README's code is on a test's
       loopback endpoint): 8-bit level L holds 134 bytes in version 6,
       154 in 7, so both are version 7, LINES lines.  The digits alone
       would fit version 4 in numeric mode, and a base64url code holding
       a run of them a version below its length: the drawing of a site's
       code once changed size with the random bytes of its token.  */
    char digits[138], letters[138];
    int rc;
    memcpy(digits, "DN1:", 4);
    memcpy(letters, "DN1:", 4);
    for (int i = 4; i < 137; i++) {
        digits[i] = (char)('0' + i % 10);
        letters[i] = (char)('A' + i % 26);
    }
    digits[137] = letters[137] = '\0';
    char *a = s_draw(digits, 0, &rc);
    assert_int_equal(rc, 0);
    char *b = s_draw(letters, 0, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(s_lines(a), LINES);
    assert_int_equal(s_lines(b), LINES);
    static int light[SIZE + 1][SIZE];
    s_read(a, light); /* LINES lines of SIZE characters, or fails */
    s_read(b, light);
    free(a);
    free(b);
}

static void test_ansi(void **state)
{
    int rc, lines = 0;
    char *plain = s_draw(CODE, 0, &rc), *ansi = s_draw(CODE, DN_QR_ANSI, &rc);
    char *stripped = calloc(1, strlen(ansi) + 1), *q = stripped;
    const char *p = ansi;
    size_t on = strlen(DN_QR_ANSI_ON), off = strlen(DN_QR_ANSI_OFF);
    (void)state;
    assert_int_equal(rc, 0);
    assert_non_null(stripped);
    while (*p) {
        const char *end = strchr(p, '\n');
        assert_non_null(end);
        assert_memory_equal(p, DN_QR_ANSI_ON, on);
        assert_memory_equal(end - off, DN_QR_ANSI_OFF, off);
        memcpy(q, p + on, (size_t)(end - off - p - (long)on));
        q += end - off - p - (long)on;
        *q++ = '\n';
        p = end + 1;
        lines++;
    }
    assert_int_equal(lines, LINES);
    assert_string_equal(stripped, plain);
    free(stripped);
    free(plain);
    free(ansi);
}

static void test_refused(void **state)
{
    static char longest[3001];
    FILE *full;
    (void)state;
    assert_int_equal(dn_qr_render("", 0, stdout), DN_EINVAL);
    /* 3000 lower-case letters: byte mode only, and version 40 at level L
       holds 2953 bytes */
    memset(longest, 'a', 3000);
    assert_int_equal(dn_qr_render(longest, 0, stdout), DN_ETOOBIG);
    /* the full disk: the drawing is flushed, so its loss is told */
    full = fopen("/dev/full", "w");
    if (full) {
        assert_int_equal(dn_qr_render(CODE, 0, full), DN_EIO);
        fclose(full);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_and_quiet_zone),
        cmocka_unit_test(test_matrix_libqrencode),
        cmocka_unit_test(test_matrix_qrencode_command),
        cmocka_unit_test(test_size_by_length),
        cmocka_unit_test(test_ansi),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
