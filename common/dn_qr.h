/*  dn_qr -- a QR code drawn in a terminal with UTF-8 half blocks.

    HQ shows a site's enrollment code (DN1:...) also as a QR code, so that
    it reaches the shop by a phone's camera rather than by typing or by a
    chat app that may mangle it.  libqrencode makes the module matrix; this
    module only draws it.

    Drawing: each character holds two modules, one above the other (U+2580
    upper half, U+2584 lower half, U+2588 full block, space), so the code
    comes out about square in a terminal whose cells are twice as high as
    wide, and a 45-module code fits in 53 columns and 27 lines.  A quiet
    zone of DN_QR_QUIET_ZONE modules surrounds it, as ISO/IEC 18004 asks.

    Which modules are blocks: a scanner wants dark modules on a light
    ground, and a block shows in the terminal's text colour.  On the usual
    light-on-dark terminal the text is light, so LIGHT modules are drawn as
    blocks and dark ones as spaces (what `qrencode -t UTF8` does too).  On a
    dark-on-light terminal that would come out inverted, which many
    scanners do not read; so with DN_QR_ANSI each line also sets the
    colours itself (white text on a black ground, then reset), and the
    code reads right whatever the terminal's theme.  Without it (a file, a
    pipe) the text is plain UTF-8, right on a dark terminal.
*/
#ifndef DN_QR_H
#define DN_QR_H

#include <stdio.h>

#define DN_QR_QUIET_ZONE 4 /* modules of light margin on each side */
#define DN_QR_ANSI       1 /* flag: set the colours with ANSI escapes */

/*  The escapes DN_QR_ANSI puts at the start and the end of each line.  */
#define DN_QR_ANSI_ON  "\033[97;40m"
#define DN_QR_ANSI_OFF "\033[0m"

/*  Draws text as a QR code on out: the whole text as one byte-mode
    segment, error correction level L, the smallest version that holds it
    (what `qrencode -8` makes of it), so its size follows from the text's
    length alone: every code of one length draws at one size.  Width + 2 * DN_QR_QUIET_ZONE characters a line and
    (width + 2 * DN_QR_QUIET_ZONE + 1) / 2 lines, each ending in '\n'.
    flags: 0 or DN_QR_ANSI.  Returns 0; DN_ETOOBIG (more than a QR code
    holds); DN_EINVAL (empty text); DN_ENOMEM; DN_EIO (cannot write to
    out).  The matrix is wiped before it is freed (the text may be a
    secret).  */
int dn_qr_render(const char *text, int flags, FILE *out);

#endif
