/*  dn_version -- the release every program of this tree reports.

    One definition: the agent sends it in Hello and Enroll (the server logs
    and checks it against DN_MAX_VERSION_LEN), and each program prints it for
    --version beside the wire protocol's number (proto/dn_protocol.h), which
    is a separate fact: a release need not change the protocol.
*/
#ifndef DN_VERSION_H
#define DN_VERSION_H

#define DN_VERSION "0.1.0"

#endif
