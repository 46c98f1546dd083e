/*  dealernet-hq -- headquarters' command line: the admin socket's client.

    Each command is one request and one reply over a CurveZMQ REQ socket,
    authenticated by the HQ admin key that `dealernet-server init` wrote.
    The server does the work and answers with JSON; this program only turns
    arguments into a request and the JSON into a table, CSV or JSON
    (dn_render).  Every command is one entry of the command table at the
    end of this file -- its words, the admin command it sends, its
    positional arguments and options and the admin arguments they fill --
    and one generic runner parses, checks, sends and prints them all, so a
    new server command needs a table entry here and, rarely, a printing
    hook.  A server that does not answer within --timeout gets one line and
    exit 69: nothing is retried, since a mutating request may have been
    applied.
*/
#include "dn_i18n.h"
#include "dn_bundle.h"
#include "dn_csv.h"
#include "dn_id.h"
#include "dn_curve.h"
#include "dn_error.h"
#include "dn_fsperm.h"
#include "dn_log.h"
#include "dn_probe.h"
#include "dn_protocol.h"
#include "dn_qr.h"
#include "dn_render.h"
#include "dn_secret.h"
#include "dn_time.h"
#include "dn_valid.h"
#include "dn_cli.h"
#include "dn_version.h"
#include "dn_wire.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define DN_HQ_TIMEOUT_S         10 /* default --timeout */
#define DN_HQ_MAX_TIMEOUT_S     3600
#define DN_HQ_DEFAULT_SYNC_PORT "7700"
#define DN_HQ_MAX_FILE_BYTES    DN_PLAN_MAX_BYTES /* a file sent as an argument */
#define DN_HQ_MAX_SALE_LIMIT    1000 /* sales list --limit: the server's DN_DRILL_MAX_LIMIT */

/*  Option codes of the global options and of --json / --csv / --qr; a command's
    own options get S_OPT_OWN + their index in its table entry.  */
enum {
    S_OPT_SERVER = 1000,
    S_OPT_SERVER_KEY,
    S_OPT_KEY,
    S_OPT_TIMEOUT,
    S_OPT_JSON,
    S_OPT_CSV,
    S_OPT_EXCEL,
    S_OPT_QR,
    S_OPT_NO_QR,
    S_OPT_OWN = 1100,
};

/* -- the command table's types ------------------------------------------- */

#define S_MAX_POS  2 /* positional arguments of one command */
#define S_MAX_OPTS 7 /* options of one command, beyond the global ones */

/*  What a value is, and so how it is checked (or turned) before sending.  */
typedef enum {
    S_TEXT = 0, /* as typed; the server checks it */
    S_PARTNER,  /* a partner code (dn_valid_code_check) */
    S_SITE,     /* a site code */
    S_SKU,      /* a SKU */
    S_CATEGORY, /* a category code, or "-" (none) where a command says so */
    S_DATE,     /* YYYY-MM-DD */
    S_PERIOD,   /* YYYY-MM */
    S_PHONE,    /* a phone, sent as typed: the server makes it canonical with
                   the network's country, which HQ's command line does not know */
    S_FILE,     /* a file name: the file's text is sent */
    S_WEB_USER  /* a web user's name, a code (dn_valid_code_check) */
} s_kind_t;

/*  A positional argument.  */
typedef struct {
    const char *arg; /* the admin argument it fills; NULL ends the list */
    s_kind_t kind;
    const char *need; /* the usage error when it is missing; NULL: optional */
} s_pos_t;

/*  An option of a command.  */
typedef struct {
    const char *name; /* without "--"; NULL ends the list */
    const char *arg;  /* the admin argument it fills; NULL: none, the option is
                         read by the printing hook (s_local) and never sent */
    s_kind_t kind;
    int flag;     /* takes no value; sends "1" when given */
    int required; /* missing: the command's `need` message */
} s_opt_t;

#define S_FMT_JSON 1 /* --json accepted */
#define S_FMT_CSV  2 /* --csv accepted, and --excel with it */
#define S_FMT_QR   4 /* --qr and --no-qr accepted (the enrollment code) */

typedef struct s_call s_call_t;

typedef struct {
    const char *name;    /* the words typed: "site add", "verify" */
    const char *command; /* the admin command sent */
    const char *usage;   /* what follows the name in a usage line */
    const char *help;
    s_pos_t pos[S_MAX_POS + 1];
    s_opt_t opts[S_MAX_OPTS + 1];
    const char *need; /* usage error when a required option is missing */
    int formats;      /* S_FMT_* */
    int timeout_s;    /* default wait without --timeout (0: DN_HQ_TIMEOUT_S) */
    /* Prints the result (in any format) and returns the exit status; NULL
       prints it with dn_render in the format asked for.  */
    int (*print)(const s_call_t *call, const json_t *result);
} s_command_t;

/*  One run of a command: what the runner parsed, for the printing hook.  */
struct s_call {
    const s_command_t *cmd;
    dn_render_format_t format;
    int qr; /* --qr 1, --no-qr -1, neither 0: on a terminal */
    const char *args[2 * (S_MAX_POS + S_MAX_OPTS)]; /* (admin arg, value) pairs */
    size_t n_args;
    const char *local[S_MAX_OPTS]; /* the local options' values, by index; NULL: not given */
    char *file; /* an S_FILE argument's text, malloc'd */
};

/*  The global options, from the command line or the environment.  */
static struct {
    const char *server;     /* admin endpoint */
    const char *server_key; /* the server's public key, Z85 */
    const char *key_file;   /* the HQ admin key pair */
    int timeout_s;
    int timeout_given; /* --timeout was given: it wins over a command's default */
    int quiet;
} s_opt = {NULL, NULL, NULL, DN_HQ_TIMEOUT_S, 0, 0};

static const s_command_t *s_current; /* for usage errors and --help */

/* -- small helpers ------------------------------------------------------- */

static int s_usage_error(const char *fmt, const char *arg)
{
    char text[512];
    snprintf(text, sizeof text, fmt, arg);
    dn_log_error(_("%s (see: dealernet-hq %s%s--help)"), text,
                 s_current ? s_current->name : "", s_current ? " " : "");
    return EX_USAGE;
}

/*  Handles a global option (shared by main and every command).  Returns 1
    if c was one, 0 if not, -1 after a usage error in *code.  */
static int s_global_option(int c, const char *arg, int *code)
{
    int64_t secs;
    switch (c) {
    case S_OPT_SERVER:
        s_opt.server = arg;
        return 1;
    case S_OPT_SERVER_KEY:
        s_opt.server_key = arg;
        return 1;
    case S_OPT_KEY:
        s_opt.key_file = arg;
        return 1;
    case S_OPT_TIMEOUT:
        if (dn_parse_int(arg, 1, DN_HQ_MAX_TIMEOUT_S, &secs)) {
            *code =
                s_usage_error(_("--timeout '%s' must be whole seconds from 1 to 3600"), arg);
            return -1;
        }
        s_opt.timeout_s = (int)secs;
        s_opt.timeout_given = 1;
        return 1;
    case 'q':
        s_opt.quiet = 1;
        dn_log_init("dealernet-hq", DN_LOG_ERROR, 0);
        return 1;
    }
    return 0;
}

/*  The global options, also accepted after the command.  */
static const struct option s_global_longs[] = {
    {"server", required_argument, NULL, S_OPT_SERVER},
    {"server-key", required_argument, NULL, S_OPT_SERVER_KEY},
    {"key", required_argument, NULL, S_OPT_KEY},
    {"timeout", required_argument, NULL, S_OPT_TIMEOUT},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

#define DN_HQ_MAX_OPTIONS 32

/*  Parses a command's options with getopt_long; the global options, unknown
    options and --help are handled here.  Returns the option, -1 at the
    end, or -2 when the command must stop with *code.  */
static int s_getopt(int argc, char **argv, const struct option *own, int *code)
{
    struct option longs[DN_HQ_MAX_OPTIONS];
    const char *shorts = "hq";
    int output = 0; /* -o: the command's --output, where it has one */
    size_t n = 0;
    int c;

    for (size_t i = 0; own[i].name; i++) {
        if (strcmp(own[i].name, "output") == 0) {
            shorts = "hqo:";
            output = own[i].val;
        }
        longs[n++] = own[i];
    }
    for (size_t i = 0; s_global_longs[i].name; i++)
        longs[n++] = s_global_longs[i];
    assert(n < DN_HQ_MAX_OPTIONS);
    memset(&longs[n], 0, sizeof longs[n]);
    for (;;) {
        opterr = 0; /* one line on stderr: ours, not getopt's as well */
        c = getopt_long(argc, argv, shorts, longs, NULL);
        if (c == 'o' && output)
            return output;
        if (c == 'h') {
            printf(_("usage: dealernet-hq %s %s\n\n%s"), s_current->name, s_current->usage,
                   _(s_current->help));
            if (s_current->formats & S_FMT_CSV)
                printf("%s", _("--csv --excel writes the CSV for Excel: UTF-8 with a byte-order "
                               "mark,\nwhich Excel needs to read Chinese names right.\n"));
            *code = 0;
            return -2;
        }
        if (c == '?' || c == ':') {
            *code = s_usage_error(_("unknown option or missing value: '%s'"),
                                  optind > 0 && optind <= argc ? argv[optind - 1] : "?");
            return -2;
        }
        switch (s_global_option(c, optarg, code)) {
        case 1:
            continue;
        case -1:
            return -2;
        }
        return c;
    }
}

/*  How a result is shown, from --json / --csv.  */
static int s_format_option(int c, dn_render_format_t *format, int *code)
{
    dn_render_format_t want = c == S_OPT_JSON ? DN_RENDER_JSON : DN_RENDER_CSV;
    if (*format != DN_RENDER_TABLE && *format != want) {
        *code = s_usage_error("%s", _("--json and --csv exclude each other"));
        return -1;
    }
    *format = want;
    return 0;
}

/* -- the request --------------------------------------------------------- */

/*  A usage error about a global option: points at the global help.  */
static int s_global_error(const char *fmt, const char *arg)
{
    const s_command_t *current = s_current;
    int code;
    s_current = NULL;
    code = s_usage_error(fmt, arg);
    s_current = current;
    return code;
}

/*  Fills in the global options from the environment and checks them.
    Returns 0 or an exit status (after one line on stderr).  */
static int s_check_connection(void)
{
    if (!s_opt.server)
        s_opt.server = getenv("DEALERNET_SERVER");
    if (!s_opt.server_key)
        s_opt.server_key = getenv("DEALERNET_SERVER_KEY");
    if (!s_opt.key_file)
        s_opt.key_file = getenv("DEALERNET_HQ_KEY");
    if (!s_opt.server || !*s_opt.server)
        return s_global_error("%s", _("no server: give --server ENDPOINT (like "
                                      "tcp://hq.example.com:7701) or set DEALERNET_SERVER"));
    if (!s_opt.server_key || !*s_opt.server_key)
        return s_global_error("%s",
                              _("no server key: give --server-key Z85 (printed by "
                                "'dealernet-server init') or set DEALERNET_SERVER_KEY"));
    if (!s_opt.key_file || !*s_opt.key_file)
        return s_global_error("%s",
                              _("no admin key: give --key FILE (the hq.key that "
                                "'dealernet-server init' wrote) or set DEALERNET_HQ_KEY"));
    if (!dn_curve_valid_z85(s_opt.server_key))
        return s_global_error(_("--server-key '%.60s' is not a 40-character Z85 key"),
                              s_opt.server_key);
    return 0;
}

/*  Sends body to the server and waits for one reply, which is set in
    *reply (zmq message, caller closes).  Returns 0 or an exit status
    (after one line on stderr).  */
static int s_exchange(void *ctx, const dn_curve_pair_t *pair, const uint8_t *body,
                      size_t len, zmq_msg_t *reply)
{
    void *sock = zmq_socket(ctx, ZMQ_REQ);
    dn_probe_t *probe = NULL;
    int linger = 0, timeout_ms = s_opt.timeout_s * 1000, rc = 0;
    int64_t max_bytes = DN_MAX_ADMIN_REPLY_BYTES, deadline;

    if (!sock) {
        dn_log_error(_("cannot create a ZeroMQ socket: %s"), zmq_strerror(errno));
        return EX_SOFTWARE;
    }
    if (zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger) ||
        zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms) ||
        zmq_setsockopt(sock, ZMQ_MAXMSGSIZE, &max_bytes, sizeof max_bytes) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, s_opt.server_key, DN_Z85_KEY_SIZE) ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pair->public_z85, DN_Z85_KEY_SIZE) ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, pair->secret_z85, DN_Z85_KEY_SIZE)) {
        dn_log_error(_("cannot set up a CURVE client socket: %s (is libzmq built with "
                       "CURVE?)"),
                     zmq_strerror(errno));
        zmq_close(sock);
        return EX_SOFTWARE;
    }
    /* Watch the handshake, so that each cause -- nothing listens, another
       service on that port, a wrong server key, an admin key the server
       refuses -- gets its own message instead of a timeout.  */
    probe = dn_probe_new(ctx, sock);
    if (zmq_connect(sock, s_opt.server) != 0) {
        rc = s_global_error(_("--server '%.200s' is not a ZeroMQ endpoint (like "
                              "tcp://hq.example.com:7701)"),
                            s_opt.server);
        goto done;
    }
    if (zmq_send(sock, body, len, 0) < 0) {
        dn_log_error(_("cannot send to %s: %s"), s_opt.server, zmq_strerror(errno));
        rc = EX_UNAVAILABLE;
        goto done;
    }
    deadline = dn_time_monotonic_ms() + timeout_ms;
    for (;;) {
        zmq_pollitem_t items[2] = {{sock, 0, ZMQ_POLLIN, 0},
                                   {probe ? dn_probe_socket(probe) : NULL, 0, ZMQ_POLLIN, 0}};
        int64_t left = deadline - dn_time_monotonic_ms();
        dn_probe_state_t state;
        char text[DN_WHY_SIZE];
        int n;
        if (left <= 0) {
            /* "is the server running?" only when nothing answers at all */
            state = probe ? dn_probe_update(probe) : DN_PROBE_UP;
            if (state == DN_PROBE_UP)
                dn_log_error(_("%s accepted the connection but did not reply within %d s"),
                             s_opt.server, s_opt.timeout_s);
            else
                dn_log_error("%s",
                             dn_probe_explain(state, probe ? dn_probe_value(probe) : 0,
                                              s_opt.server, text, sizeof text));
            rc = state == DN_PROBE_SILENT ? EX_CONFIG : EX_UNAVAILABLE;
            break;
        }
        n = zmq_poll(items, probe ? 2 : 1, (long)left);
        if (n < 0 && errno == EINTR) {
            dn_log_error(
                _("interrupted before %s replied; the request may have been applied"),
                s_opt.server);
            rc = EX_TEMPFAIL;
            break;
        }
        if (n < 0) {
            dn_log_error(_("cannot wait for %s: %s"), s_opt.server, zmq_strerror(errno));
            rc = EX_UNAVAILABLE;
            break;
        }
        if (probe && (items[1].revents & ZMQ_POLLIN)) {
            state = dn_probe_update(probe);
            if (state == DN_PROBE_AUTH) {
                dn_log_error(
                    _("%s refused the admin key in %s (ZAP status %u): it is not an "
                      "HQ admin key of this server, or this is not its admin port"),
                    s_opt.server, s_opt.key_file, (unsigned)dn_probe_value(probe));
                rc = EX_NOPERM;
                break;
            }
            if (state == DN_PROBE_BAD_KEY || state == DN_PROBE_NOT_ZMTP) {
                /* neither mends by waiting */
                dn_log_error("%s", dn_probe_explain(state, dn_probe_value(probe),
                                                    s_opt.server, text, sizeof text));
                rc = EX_CONFIG;
                break;
            }
        }
        if (items[0].revents & ZMQ_POLLIN) {
            if (zmq_msg_recv(reply, sock, 0) >= 0)
                break;
            dn_log_error(_("cannot receive from %s: %s"), s_opt.server, zmq_strerror(errno));
            rc = EX_UNAVAILABLE;
            break;
        }
    }
done:
    dn_probe_destroy(&probe);
    zmq_close(sock);
    return rc;
}

/*  Sends command with n (name, value) pairs from args (a NULL value leaves
    the argument out) and sets *result to the reply's JSON (caller decrefs).
    Returns 0 or an exit status (after one line on stderr).  */
static int s_request(const char *command, const char *const *args, size_t n,
                     json_t **result)
{
    Dealernet__AdminRequest req = DEALERNET__ADMIN_REQUEST__INIT;
    Dealernet__AdminArg arg_msgs[DN_MAX_ADMIN_ARGS], *arg_ptrs[DN_MAX_ADMIN_ARGS];
    Dealernet__AdminReply *reply = NULL;
    dn_curve_pair_t pair;
    char why[DN_WHY_SIZE];
    uint8_t *body = NULL;
    size_t len = 0;
    zmq_msg_t msg;
    void *ctx;
    int rc;

    *result = NULL;
    if ((rc = s_check_connection()) != 0)
        return rc;
    req.has_protocol = 1;
    req.protocol = DN_PROTOCOL_VERSION;
    req.command = (char *)command;
    /* the server words its error in HQ's language; English is the
       default, and leaving it out keeps an older server talking */
    if (strcmp(dn_i18n_lang(), "en") != 0)
        req.lang = (char *)dn_i18n_lang();
    for (size_t i = 0; i < n && i < DN_MAX_ADMIN_ARGS; i++) {
        if (!args[2 * i + 1])
            continue;
        dealernet__admin_arg__init(&arg_msgs[req.n_args]);
        arg_msgs[req.n_args].name = (char *)args[2 * i];
        arg_msgs[req.n_args].value = (char *)args[2 * i + 1];
        arg_ptrs[req.n_args] = &arg_msgs[req.n_args];
        req.n_args++;
    }
    req.args = arg_ptrs;
    rc = dn_wire_admin_request_pack(&req, &body, &len, why, sizeof why);
    if (rc) {
        dn_log_error(_("cannot build the request: %s"),
                     rc == DN_ENOMEM ? dn_strerror(rc) : why);
        return dn_exit_code(rc);
    }

    /* the admin key, like the server's files: not open to other users */
    if ((rc = dn_fsperm_file(s_opt.key_file, 1)) != 0) {
        free(body);
        return dn_exit_code(rc);
    }
    rc = dn_curve_load(s_opt.key_file, &pair);
    if (rc) {
        if (rc == DN_ENOENT)
            dn_log_error(_("admin key file %s does not exist: use the hq.key that "
                           "'dealernet-server init' wrote (--key or DEALERNET_HQ_KEY)"),
                         s_opt.key_file);
        else if (rc == DN_EPARSE)
            dn_log_error(
                _("%s is not a CURVE key file (public-key = ..., secret-key = ...)"),
                s_opt.key_file);
        else
            dn_log_error(_("cannot read %s: %s"), s_opt.key_file, dn_strerror(rc));
        free(body);
        return dn_exit_code(rc);
    }

    ctx = zmq_ctx_new();
    if (!ctx) {
        OPENSSL_cleanse(&pair, sizeof pair);
        free(body);
        dn_log_error(_("cannot start ZeroMQ: %s"), zmq_strerror(errno));
        return EX_SOFTWARE;
    }
    zmq_msg_init(&msg);
    rc = s_exchange(ctx, &pair, body, len, &msg);
    OPENSSL_cleanse(&pair, sizeof pair);
    free(body);
    if (rc == 0) {
        int urc = dn_wire_admin_reply_unpack(zmq_msg_data(&msg), zmq_msg_size(&msg),
                                             &reply, why, sizeof why);
        if (urc == DN_ENOMEM) {
            dn_log_error(_("malformed reply from %s: %s"), s_opt.server, dn_strerror(urc));
            rc = dn_exit_code(urc);
        } else if (urc) {
            /* a server's sync port answers an admin request with a refusal
               of its own kind */
            dn_log_error(_("%s answered something that is not an admin reply (%s): is it the "
                           "server's sync port, not its admin port?"),
                         s_opt.server, why);
            rc = EX_CONFIG;
        } else if (reply->status != 0) {
            dn_log_error("%s", reply->error);
            rc = (int)reply->status;
        } else {
            json_error_t error;
            *result = json_loads(reply->result ? reply->result : "null", JSON_DECODE_ANY,
                                 &error);
            if (!*result) {
                dn_log_error(_("malformed result from %s: %s"), s_opt.server, error.text);
                rc = dn_exit_code(DN_EPROTO);
            }
        }
        if (reply && reply->result) /* may hold an enrollment token */
            OPENSSL_cleanse(reply->result, strlen(reply->result));
        dn_wire_admin_reply_free(&reply);
    }
    if (zmq_msg_size(&msg))
        OPENSSL_cleanse(zmq_msg_data(&msg), zmq_msg_size(&msg));
    zmq_msg_close(&msg);
    zmq_ctx_term(ctx);
    return rc;
}

/*  Prints a result in format.  Returns 0 or an exit status.  */
static int s_print(const json_t *result, dn_render_format_t format)
{
    int rc = dn_render(stdout, result, format);
    if (rc) {
        dn_log_error(_("cannot write the result: %s"), dn_strerror(rc));
        return dn_exit_code(rc);
    }
    return 0;
}

static const char *s_str(const json_t *obj, const char *key)
{
    const char *text = json_string_value(json_object_get(obj, key));
    return text ? text : "-";
}

/* -- the runner ---------------------------------------------------------- */

/*  The value sent for an admin argument, or NULL.  */
static const char *s_arg(const s_call_t *call, const char *name)
{
    for (size_t i = 0; i < call->n_args; i++)
        if (strcmp(call->args[2 * i], name) == 0)
            return call->args[2 * i + 1];
    return NULL;
}

static void s_set_arg(s_call_t *call, const char *name, const char *value)
{
    for (size_t i = 0; i < call->n_args; i++) {
        if (strcmp(call->args[2 * i], name) == 0) {
            call->args[2 * i + 1] = value;
            return;
        }
    }
    assert(call->n_args < (S_MAX_POS + S_MAX_OPTS));
    call->args[2 * call->n_args] = name;
    call->args[2 * call->n_args + 1] = value;
    call->n_args++;
}

/*  The value of the local option called name (s_opt_t.arg NULL), or NULL.  */
static const char *s_local(const s_call_t *call, const char *name)
{
    for (size_t i = 0; call->cmd->opts[i].name; i++)
        if (!call->cmd->opts[i].arg && strcmp(call->cmd->opts[i].name, name) == 0)
            return call->local[i];
    return NULL;
}

/*  Reads a text file of at most DN_HQ_MAX_FILE_BYTES into *text (malloc'd,
    NUL-terminated).  Returns 0 or an exit status (after one line).  */
static int s_read_file(const char *path, char **text)
{
    FILE *file = fopen(path, "rb");
    size_t n;
    char *buf;

    *text = NULL;
    if (!file) {
        dn_log_error(_("cannot read %s: %s"), path, strerror(errno));
        return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
    }
    buf = malloc(DN_HQ_MAX_FILE_BYTES + 2);
    if (!buf) {
        fclose(file);
        dn_log_error(_("out of memory reading %s"), path);
        return EX_SOFTWARE;
    }
    n = fread(buf, 1, DN_HQ_MAX_FILE_BYTES + 1, file);
    if (ferror(file)) {
        dn_log_error(_("cannot read %s: %s"), path, strerror(errno));
        fclose(file);
        free(buf);
        return EX_IOERR;
    }
    fclose(file);
    if (n > DN_HQ_MAX_FILE_BYTES) {
        dn_log_error(_("%s is larger than %d bytes"), path, DN_HQ_MAX_FILE_BYTES);
        free(buf);
        return EX_DATAERR;
    }
    if (memchr(buf, '\0', n)) {
        dn_log_error(_("%s is not a text file: it holds a NUL byte"), path);
        free(buf);
        return EX_DATAERR;
    }
    buf[n] = '\0';
    *text = buf;
    return 0;
}

/*  Checks the value of an argument of kind, named option (NULL for a
    positional one), and replaces *value with what is sent (a file's
    text).  Returns 0 or an exit status.  */
static int s_check_value(s_call_t *call, s_kind_t kind, const char *option,
                         const char **value)
{
    char text[256], prefix[48] = "";
    if (option)
        snprintf(prefix, sizeof prefix, "--%s ", option);
    switch (kind) {
    case S_TEXT:
        return 0;
    case S_PARTNER:
    case S_SITE:
    case S_SKU:
    case S_CATEGORY:
    case S_WEB_USER: {
        /* the one message and exit status of a bad code (dn_valid.h); where
           the command takes --name, it says the name goes there */
        static const dn_code_kind_t kinds[] = {[S_PARTNER] = DN_CODE_PARTNER,
                                               [S_SITE] = DN_CODE_SITE,
                                               [S_WEB_USER] = DN_CODE_WEB_USER,
                                               [S_SKU] = DN_CODE_SKU,
                                               [S_CATEGORY] = DN_CODE_CATEGORY};
        const char *hint = NULL;
        char why[DN_CODE_WHY_SIZE];
        int rc;
        for (size_t i = 0; call->cmd->opts[i].name && !option; i++)
            if (strcmp(call->cmd->opts[i].name, "name") == 0)
                hint = _("give the name with --name");
        if (kind == S_CATEGORY && strcmp(*value, "-") == 0)
            return 0;
        rc = dn_valid_code_check(kinds[kind], *value, hint, why, sizeof why);
        if (rc == 0)
            return 0;
        dn_log_error("%s%s", prefix, why);
        return dn_exit_code(rc);
    }
    case S_DATE: {
        int64_t ms;
        if (dn_time_parse_date(*value, &ms) == 0)
            return 0;
        if (option)
            snprintf(text, sizeof text, _("--%s '%.40s' is not a date (YYYY-MM-DD)"), option,
                     *value);
        else
            snprintf(text, sizeof text, _("'%.40s' is not a date (YYYY-MM-DD)"), *value);
        break;
    }
    case S_PERIOD:
        if (dn_time_parse_period(*value, NULL, NULL) == 0)
            return 0;
        if (option)
            snprintf(text, sizeof text, _("--%s '%.40s' is not a month (YYYY-MM)"), option,
                     *value);
        else
            snprintf(text, sizeof text, _("'%.40s' is not a month (YYYY-MM)"), *value);
        break;
    case S_PHONE:
        return 0;
    case S_FILE: {
        int code;
        assert(!call->file); /* one file per command */
        if ((code = s_read_file(*value, &call->file)) != 0)
            return code;
        *value = call->file;
        return 0;
    }
    }
    return s_usage_error("%s", text);
}

/*  1 if word is a negative number ("-12.50", "-3"): an amount, not an
    option.  */
static int s_negative_number(const char *word)
{
    return word[0] == '-' && ((word[1] >= '0' && word[1] <= '9') ||
                              (word[1] == '.' && word[2] >= '0' && word[2] <= '9'));
}

/*  1 if word is a long option of longs (or of the global ones) whose value
    is the next word ("--reason", not "--reason=X"), abbreviated or not, as
    getopt_long reads it.  */
static int s_takes_next(const struct option *longs, const char *word)
{
    size_t len;
    if (strncmp(word, "--", 2) != 0 || !word[2] || strchr(word, '='))
        return 0;
    len = strlen(word + 2);
    for (size_t i = 0; longs[i].name; i++)
        if (longs[i].has_arg == required_argument &&
            strncmp(longs[i].name, word + 2, len) == 0)
            return 1;
    for (size_t i = 0; s_global_longs[i].name; i++)
        if (s_global_longs[i].has_arg == required_argument &&
            strncmp(s_global_longs[i].name, word + 2, len) == 0)
            return 1;
    return 0;
}

/*  getopt would read "-12.50" as the options -1, -2 ...: before it runs,
    each negative number that is no option's value is swapped for
    s_negative_word, and put back (in order: getopt keeps the order of the
    words it moves) among the positional arguments after it.  */
static char s_negative_word[] = "negative amount";
#define S_MAX_NEGATIVES 4

/*  Parses the command line of cmd, checks it, fills call.  Returns 0 or an
    exit status (-1: --help was printed, exit 0).  */
static int s_parse(const s_command_t *cmd, int argc, char **argv, s_call_t *call)
{
    struct option longs[S_MAX_OPTS + 6];
    const char *values[S_MAX_OPTS] = {NULL};
    char *negatives[S_MAX_NEGATIVES];
    size_t n = 0, n_pos = 0, n_negative = 0, i;
    int c, code = 0, excel = 0;

    for (i = 0; cmd->opts[i].name; i++) {
        assert(i < S_MAX_OPTS);
        longs[n++] = (struct option){cmd->opts[i].name,
                                     cmd->opts[i].flag ? no_argument : required_argument,
                                     NULL, S_OPT_OWN + (int)i};
    }
    if (cmd->formats & S_FMT_JSON)
        longs[n++] = (struct option){"json", no_argument, NULL, S_OPT_JSON};
    if (cmd->formats & S_FMT_CSV) {
        longs[n++] = (struct option){"csv", no_argument, NULL, S_OPT_CSV};
        longs[n++] = (struct option){"excel", no_argument, NULL, S_OPT_EXCEL};
    }
    if (cmd->formats & S_FMT_QR) {
        longs[n++] = (struct option){"qr", no_argument, NULL, S_OPT_QR};
        longs[n++] = (struct option){"no-qr", no_argument, NULL, S_OPT_NO_QR};
    }
    memset(&longs[n], 0, sizeof longs[n]);

    for (int k = 1; k < argc && strcmp(argv[k], "--") != 0; k++) {
        if (s_takes_next(longs, argv[k])) {
            k++; /* its value, whatever it looks like */
        } else if (s_negative_number(argv[k]) && n_negative < S_MAX_NEGATIVES) {
            negatives[n_negative++] = argv[k];
            argv[k] = s_negative_word;
        }
    }
    while ((c = s_getopt(argc, argv, longs, &code)) != -1) {
        if (c == -2)
            return code ? code : -1;
        if (c == S_OPT_JSON || c == S_OPT_CSV) {
            if (s_format_option(c, &call->format, &code))
                return code;
        } else if (c == S_OPT_EXCEL) {
            excel = 1;
        } else if (c == S_OPT_QR || c == S_OPT_NO_QR) {
            /* how the result is shown, like --json: never sent */
            int want = c == S_OPT_QR ? 1 : -1;
            if (call->qr == -want)
                return s_usage_error("%s", _("--qr and --no-qr exclude each other"));
            call->qr = want;
        } else {
            assert(c >= S_OPT_OWN && c < S_OPT_OWN + S_MAX_OPTS);
            values[c - S_OPT_OWN] = cmd->opts[c - S_OPT_OWN].flag ? "1" : optarg;
        }
    }

    for (int k = optind, next = 0; k < argc; k++)
        if (argv[k] == s_negative_word)
            argv[k] = negatives[next++];
    /* --excel changes how the CSV is written (dn_render's DN_RENDER_EXCEL);
       alone it would be a table or JSON, which Excel does not open */
    if (excel && call->format != DN_RENDER_CSV)
        return s_usage_error("%s", _("--excel goes with --csv: it writes the CSV for Excel"));
    if (excel)
        call->format = DN_RENDER_EXCEL;

    /* positional arguments: too many, missing, malformed -- in that order */
    while (n_pos < S_MAX_POS && cmd->pos[n_pos].arg)
        n_pos++;
    if ((size_t)(argc - optind) > n_pos)
        return s_usage_error(_("unexpected argument '%s'"), argv[optind + (int)n_pos]);
    for (i = 0; i < n_pos; i++) {
        if (optind + (int)i < argc)
            continue;
        if (cmd->pos[i].need)
            return s_usage_error("%s", _(cmd->pos[i].need));
        break; /* optional ones come last */
    }
    for (i = 0; i < n_pos && optind + (int)i < argc; i++) {
        const char *value = argv[optind + (int)i];
        if ((code = s_check_value(call, cmd->pos[i].kind, NULL, &value)) != 0)
            return code;
        s_set_arg(call, cmd->pos[i].arg, value);
    }

    /* options: required ones, then their values */
    for (i = 0; cmd->opts[i].name; i++)
        if (cmd->opts[i].required && !values[i])
            return s_usage_error("%s", _(cmd->need));
    for (i = 0; cmd->opts[i].name; i++) {
        if (!values[i])
            continue;
        if ((code = s_check_value(call, cmd->opts[i].kind, cmd->opts[i].name,
                                  &values[i])) != 0)
            return code;
        if (!cmd->opts[i].arg)
            call->local[i] = values[i];
        else
            s_set_arg(call, cmd->opts[i].arg, values[i]);
    }
    return 0;
}

static int s_catalog_import(const s_call_t *call, json_t **result);
static int s_print_catalog_import(const s_call_t *call, const json_t *result);
static int s_web_user_add(const s_call_t *call, json_t **result);
static int s_print_web_user(const s_call_t *call, const json_t *result);

/*  The one runner: parse, check, send, print.  Returns the exit status.  */
static int s_run(const s_command_t *cmd, int argc, char **argv)
{
    s_call_t call = {.cmd = cmd, .format = DN_RENDER_TABLE};
    json_t *result = NULL;
    int code = s_parse(cmd, argc, argv, &call);

    if (code == 0) {
        if (!s_opt.timeout_given && cmd->timeout_s)
            s_opt.timeout_s = cmd->timeout_s;
        /* the one command sent in several requests */
        if (cmd->print == s_print_catalog_import)
            code = s_catalog_import(&call, &result);
        else if (cmd->print == s_print_web_user && strcmp(cmd->command, "web.user.add") == 0)
            code = s_web_user_add(&call, &result); /* the password, read here */
        else
            code = s_request(cmd->command, call.args, call.n_args, &result);
    }
    free(call.file);
    call.file = NULL;
    if (code)
        return code < 0 ? 0 : code;
    code = cmd->print ? cmd->print(&call, result) : s_print(result, call.format);
    if (code == 0 && fflush(stdout) != 0) {
        dn_log_error(_("cannot write the result: %s"), strerror(errno));
        code = dn_exit_code(DN_EIO);
    }
    json_decref(result);
    return code;
}

/* -- printing hooks ------------------------------------------------------ */

static int s_print_partner_add(const s_call_t *call, const json_t *result)
{
    const char *parent = s_arg(call, "parent"), *recruiter = s_arg(call, "recruiter");
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet)
        return 0;
    /* one whole sentence per case, for translators */
    if (parent && recruiter)
        printf(_("partner %s added (%s, parent %s, recruited by %s)\n"), s_arg(call, "code"),
               s_str(result, "kind"), parent, recruiter);
    else if (parent)
        printf(_("partner %s added (%s, parent %s)\n"), s_arg(call, "code"),
               s_str(result, "kind"), parent);
    else if (recruiter)
        printf(_("partner %s added (%s, no parent, recruited by %s)\n"), s_arg(call, "code"),
               s_str(result, "kind"), recruiter);
    else
        printf(_("partner %s added (%s, no parent)\n"), s_arg(call, "code"),
               s_str(result, "kind"));
    return 0;
}

static int s_print_partner_move(const s_call_t *call, const json_t *result)
{
    const char *before = json_string_value(json_object_get(result, "previous_parent"));
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet)
        return 0;
    if (before)
        printf(_("partner %s moves under %s from %s (before: under %s); sales recorded "
                 "earlier keep their upline\n"),
               s_str(result, "partner"), s_str(result, "parent"), s_str(result, "effective"),
               before);
    else
        printf(_("partner %s moves under %s from %s (before: no parent); sales recorded "
                 "earlier keep their upline\n"),
               s_str(result, "partner"), s_str(result, "parent"), s_str(result, "effective"));
    return 0;
}

static int s_print_partner_status(const s_call_t *call, const json_t *result)
{
    const char *status = s_str(result, "status");
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet)
        return 0;
    if (strcmp(status, "suspended") == 0)
        printf(_("partner %s suspended from %s: it earns nothing until resumed, and the "
                 "next active partner above it takes its level\n"),
               s_str(result, "partner"), s_str(result, "effective"));
    else
        printf(_("partner %s active again from %s\n"), s_str(result, "partner"),
               s_str(result, "effective"));
    return 0;
}

/*  Writes into out the endpoint an agent connects to for sync: the
    server's sync endpoint as bound, with a wildcard host replaced by the
    host of --server; without one, --server's host on the default port.  */
static void s_sync_endpoint(const char *bound, char *out, size_t size)
{
    const char *admin = s_opt.server, *sep = strstr(admin, "://");
    const char *host = sep ? sep + 3 : admin, *colon = strrchr(host, ':');
    int host_len = colon ? (int)(colon - host) : (int)strlen(host);

    if (bound && strncmp(bound, "tcp://", 6) == 0) {
        const char *bhost = bound + 6, *bcolon = strrchr(bhost, ':');
        int blen = bcolon ? (int)(bcolon - bhost) : (int)strlen(bhost);
        int wildcard = blen == 0 || (blen == 1 && bhost[0] == '*') ||
                       (blen == 7 && strncmp(bhost, "0.0.0.0", 7) == 0) ||
                       (blen == 4 && strncmp(bhost, "[::]", 4) == 0);
        if (wildcard && bcolon)
            snprintf(out, size, "tcp://%.*s%s", host_len, host, bcolon);
        else
            snprintf(out, size, "%s", bound);
    } else if (bound) {
        snprintf(out, size, "%s", bound); /* ipc://, inproc://: as is */
    } else {
        snprintf(out, size, "tcp://%.*s:%s", host_len, host, DN_HQ_DEFAULT_SYNC_PORT);
    }
}

/*  The enrollment code of the site just added (dn_bundle): the endpoint an
    agent syncs to, the server key HQ talks to, the site and its token.
    Returns 0, or an exit status after one line on stderr.  */
static int s_enrollment_code(const s_call_t *call, const json_t *result,
                             char code[DN_BUNDLE_TEXT_SIZE])
{
    dn_bundle_t bundle;
    char why[256], sync[512];
    int rc;

    memset(&bundle, 0, sizeof bundle);
    s_sync_endpoint(json_string_value(json_object_get(result, "sync_endpoint")), sync,
                    sizeof sync);
    snprintf(bundle.server_key, sizeof bundle.server_key, "%s", s_opt.server_key);
    snprintf(bundle.site, sizeof bundle.site, "%s", s_arg(call, "code"));
    snprintf(bundle.token, sizeof bundle.token, "%s", s_str(result, "token"));
    if (strlen(sync) >= sizeof bundle.endpoint) {
        snprintf(why, sizeof why, _("the sync endpoint has more than %d bytes"),
                 DN_BUNDLE_MAX_ENDPOINT);
        rc = DN_EINVAL;
    } else {
        memcpy(bundle.endpoint, sync, strlen(sync) + 1);
        rc = dn_bundle_pack(&bundle, code, DN_BUNDLE_TEXT_SIZE, why, sizeof why);
    }
    OPENSSL_cleanse(&bundle, sizeof bundle);
    if (rc) {
        /* the token is stored: it must not be lost with the code */
        dn_log_error(_("site %s: token issued, but no enrollment code can hold it (%s): "
                       "enroll with --server, --server-key and --token-file holding the "
                       "token %s"),
                     s_arg(call, "code"), why, s_str(result, "token"));
        return EX_SOFTWARE;
    }
    return 0;
}

/*  The enrollment code drawn as a QR code, for a phone's camera: on a
    terminal unless --no-qr, elsewhere with --qr; in colour on a terminal
    (dn_qr.h says why).  Returns 0 or an exit status (output lost).  */
static int s_print_qr(const s_call_t *call, const char *text)
{
    int tty = isatty(STDOUT_FILENO), rc;
    if (call->qr < 0 || (call->qr == 0 && !tty))
        return 0;
    rc = dn_qr_render(text, tty ? DN_QR_ANSI : 0, stdout);
    if (rc == DN_EIO) {
        dn_log_error(_("cannot write the QR code: %s"), strerror(errno));
        return dn_exit_code(rc);
    }
    if (rc) /* the code itself is printed above: it is all the shop needs */
        dn_log_warn(_("cannot draw the enrollment code as a QR code: %s"), dn_strerror(rc));
    else
        printf("\n");
    return 0;
}

/*  The enrollment code of site add or site token, shown this once, with
    what to do at the shop.  */
static int s_print_enrollment(const s_call_t *call, const json_t *result)
{
    const char *code = s_arg(call, "code"), *partner = s_str(result, "partner");
    int is_token = strcmp(call->cmd->command, "site.token") == 0;
    char text[DN_BUNDLE_TEXT_SIZE];
    int rc = s_enrollment_code(call, result, text);

    if (rc)
        return rc;
    if (call->format != DN_RENDER_TABLE) {
        json_t *out = json_copy((json_t *)result);
        if (!out || json_object_set_new(out, "enrollment_code", json_string(text)))
            rc = dn_exit_code(DN_ENOMEM);
        else
            rc = s_print(out, call->format);
        json_decref(out);
    } else if (s_opt.quiet) {
        printf("%s\n", text);
    } else {
        if (!is_token)
            printf(_("site %s added for partner %s.\n\n"), code, partner);
        else if (json_is_true(json_object_get(result, "replaces_pc")))
            printf(_("site %s (partner %s): a new enrollment code.  The PC that enrolls with "
                     "it\nreplaces the one the site is enrolled on now, whose sync is "
                     "refused from then\non.\n\n"),
                   code, partner);
        else if (json_is_true(json_object_get(result, "unrevoked")))
            printf(_("site %s (partner %s): no longer revoked; its old key stays refused.  "
                     "A new\nenrollment code:\n\n"),
                   code, partner);
        else
            printf(_("site %s (partner %s): a new enrollment code (any earlier one no "
                     "longer\nenrolls).\n\n"),
                   code, partner);
        printf(_("    enrollment code:  %s\n"), text);
        printf(_("    expires:          %s (single use)\n\n"), s_str(result, "expires"));
        if ((rc = s_print_qr(call, text)) != 0) {
            OPENSSL_cleanse(text, sizeof text);
            return rc;
        }
        if (is_token)
            printf(_("On the shop's PC, after 'dealernet-agent init --site %s --partner %s' "
                     "in a new folder, run\n\n"),
                   code, partner);
        else
            printf(_("On the shop's PC, after 'dealernet-agent init --site %s --partner %s', "
                     "run\n\n"),
                   code, partner);
        printf("    dealernet-agent enroll\n\n"); /* i18n: not for people: a command typed as is */
        printf("%s", _("and paste the code when it asks (it is not shown).  The code holds the\n"
                       "server's address and key, the site and its token: send it to the shop as\n"
                       "you would a password.  It is shown only now: the server keeps only the\n"
                       "token's hash.\n"));
    }
    OPENSSL_cleanse(text, sizeof text);
    if (fflush(stdout) != 0) {
        dn_log_error(_("cannot write the enrollment code: %s"), strerror(errno));
        rc = dn_exit_code(DN_EIO);
    }
    return rc;
}

static int s_print_site_revoke(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("site %s revoked at %s: its key can no longer sync\n"), s_arg(call, "code"),
               s_str(result, "revoked"));
    return 0;
}

static int s_print_plan_set(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("plan effective %s set (%s, levels %s, cap %lld bps): it applies to sales "
                 "recorded from that day on\n"),
               s_str(result, "effective"), s_str(result, "currency"),
               s_str(result, "levels"),
               (long long)json_integer_value(json_object_get(result, "cap_bps")));
    return 0;
}

/*  The plan as key / value lines, then the file it was set from.  */
static int s_print_plan_show(const s_call_t *call, const json_t *result)
{
    const char *source = json_string_value(json_object_get(result, "source"));
    json_t *shown;
    int rc;

    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    shown = json_deep_copy(result);
    if (!shown) {
        dn_log_error("%s", _("out of memory"));
        return EX_SOFTWARE;
    }
    json_object_del(shown, "source");
    rc = s_print(shown, DN_RENDER_TABLE);
    json_decref(shown);
    if (rc == 0 && source && *source) {
        size_t len = strlen(source);
        printf("\n%s%s", source, source[len - 1] == '\n' ? "" : "\n");
    }
    return rc;
}

/*  plan check: what plan set would store and how it differs from the
    version in force at its date, then the changes as a table.  --csv
    prints the changes only, --json the whole answer.  */
static int s_print_plan_check(const s_call_t *call, const json_t *result)
{
    const json_t *changes = json_object_get(result, "changes");
    const char *against = json_string_value(json_object_get(result, "against"));
    const char *effective = s_str(result, "effective");
    size_t n = json_array_size(changes);

    if (call->format == DN_RENDER_JSON)
        return s_print(result, call->format);
    if (call->format == DN_RENDER_CSV || call->format == DN_RENDER_EXCEL)
        return s_print(changes, call->format);
    if (s_opt.quiet)
        return 0;
    printf(_("plan effective %s (%s) is valid: 'plan set' would store it; nothing was "
             "stored\n"),
           effective, s_str(result, "currency"));
    if (!against)
        printf(_("no version is in force on %s: every value is new\n"), effective);
    else if (n == 0)
        printf(_("no change from the version in force on %s (effective %s)\n"), effective,
               against);
    else if (n == 1)
        printf(_("1 change from the version in force on %s (effective %s):\n"), effective,
               against);
    else
        printf(_("%zu changes from the version in force on %s (effective %s):\n"), n,
               effective, against);
    if (n == 0)
        return 0;
    printf("\n");
    return s_print(changes, DN_RENDER_TABLE);
}

static int s_print_plan_retire(const s_call_t *call, const json_t *result)
{
    const char *instead = json_string_value(json_object_get(result, "in_force_instead"));
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet)
        return 0;
    if (instead)
        printf(_("plan effective %s retired at %s by %s: it is never in force again; "
                 "from %s on the version effective %s is in force\n"),
               s_str(result, "effective"), s_str(result, "retired"),
               s_str(result, "retired_by"), s_str(result, "effective"), instead);
    else
        printf(_("plan effective %s retired at %s by %s: it is never in force again; "
                 "no version is in force from %s on until a later one\n"),
               s_str(result, "effective"), s_str(result, "retired"),
               s_str(result, "retired_by"), s_str(result, "effective"));
    return 0;
}

static int s_print_period_close(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("period %s closed at %s: nothing is posted into it again; events of it "
                 "that sync later post into the open month\n"),
               s_str(result, "period"), s_str(result, "closed"));
    return 0;
}

/*  A statement: a header block (account, period, opening balance ...), the
    transfers table, a footer (totals by code, closing balance).  --csv
    prints the transfers only, --json the statement as it came.  */
static int s_print_statement(const s_call_t *call, const json_t *result)
{
    const json_t *transfers = json_object_get(result, "transfers"), *value;
    json_t *header = json_object(), *footer = json_object(), *empty = json_array();
    const char *key;
    int rc = 0;

    if (call->format == DN_RENDER_JSON || !json_is_object(result)) {
        rc = s_print(result, call->format);
        goto done;
    }
    if (!header || !footer || !empty) {
        dn_log_error("%s", _("out of memory"));
        rc = EX_SOFTWARE;
        goto done;
    }
    if (call->format == DN_RENDER_CSV || call->format == DN_RENDER_EXCEL) {
        rc = s_print(transfers ? transfers : empty, call->format);
        goto done;
    }
    json_object_foreach((json_t *)result, key, value)
    {
        if (strcmp(key, "transfers") == 0 || strcmp(key, "closing") == 0)
            continue;
        if (json_is_object(value)) { /* totals by code: one line each */
            const char *code;
            json_t *total;
            json_object_foreach((json_t *)value, code, total)
                json_object_set(footer, code, total);
        } else if (!json_is_array(value)) {
            json_object_set(header, key, (json_t *)value);
        }
    }
    if ((value = json_object_get(result, "closing")) != NULL)
        json_object_set(footer, "closing", (json_t *)value);
    rc = s_print(header, DN_RENDER_TABLE);
    if (rc == 0) {
        printf("\n");
        rc = s_print(transfers ? transfers : empty, DN_RENDER_TABLE);
    }
    json_object_foreach((json_t *)result, key, value)
    {
        if (rc == 0 && json_is_array(value) && strcmp(key, "transfers") != 0) {
            printf("\n"); /* totals given as rows */
            rc = s_print(value, DN_RENDER_TABLE);
        }
    }
    if (rc == 0 && json_object_size(footer)) {
        printf("\n");
        rc = s_print(footer, DN_RENDER_TABLE);
    }
done:
    json_decref(header);
    json_decref(footer);
    json_decref(empty);
    return rc;
}

/*  member find: the members as a table under the headers the agent's
    `member find` shows, then how many were found (or shown, and how many
    more); --csv prints the members only, --json the result as it came.  */
static int s_print_member_find(const s_call_t *call, const json_t *result)
{
    const dn_render_column_t cols[] = {
        {"phone", C_("column", "PHONE")},       {"name", C_("column", "NAME")},
        {"site", C_("column", "SITE")},         {"joined", C_("column", "SIGNED UP")},
        {"referrer", C_("column", "REFERRER")}, {"household", C_("column", "HOUSEHOLD")}};
    const json_t *members = json_object_get(result, "members");
    long long more = (long long)json_integer_value(json_object_get(result, "more"));
    int rc;

    if (call->format == DN_RENDER_JSON || !json_is_array(members))
        return s_print(result, call->format);
    if (call->format != DN_RENDER_TABLE)
        return s_print(members, call->format);
    if ((rc = dn_render_columns(stdout, members, cols, sizeof cols / sizeof cols[0])) !=
        0) {
        dn_log_error(_("cannot write the result: %s"), dn_strerror(rc));
        return dn_exit_code(rc);
    }
    if (!s_opt.quiet) {
        if (more)
            printf(_("%zu members shown, %lld more: type more of the name or phone\n"),
                   json_array_size(members), more);
        else
            printf(_("%zu members found\n"), json_array_size(members));
    }
    return 0;
}

static int s_print_payout(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("payout of %s %s to %s recorded (ref %s, period %s); balance now %s %s\n"),
               s_str(result, "amount"), s_str(result, "currency"),
               s_str(result, "partner"), s_str(result, "ref"), s_str(result, "period"),
               s_str(result, "balance"), s_str(result, "currency"));
    return 0;
}

static int s_print_partner_bank(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(json_is_true(json_object_get(result, "replaced"))
                   ? _("bank details of partner %s replaced: account %s, %s, %s; runs "
                       "proposed from now on pay to it\n")
                   : _("bank details of partner %s set: account %s, %s, %s; runs "
                       "proposed from now on pay to it\n"),
               s_str(result, "partner"), s_str(result, "account"), s_str(result, "name"),
               s_str(result, "bank"));
    return 0;
}

/*  Writes rows as a table of cols, or reports why not.  */
static int s_columns(const json_t *rows, const dn_render_column_t *cols, size_t n)
{
    int rc = dn_render_columns(stdout, rows, cols, n);
    if (rc) {
        dn_log_error(_("cannot write the result: %s"), dn_strerror(rc));
        return dn_exit_code(rc);
    }
    return 0;
}

/*  A payout run (payout run, show, approve, cancel): what was done in one
    sentence (show: the run's fields), its payouts as a table, then who was
    left out and why.  --csv prints the payouts only, --json the run as it
    came.  */
static int s_print_payout_run(const s_call_t *call, const json_t *result)
{
    const dn_render_column_t lines_cols[] = {
        {"partner", C_("column", "PARTNER")},
        {"amount", C_("column", "AMOUNT")},
        {"reference", C_("column", "REFERENCE")},
        {"account_name", C_("column", "ACCOUNT_NAME")},
        {"account_number", C_("column", "ACCOUNT_NUMBER")},
        {"bank", C_("column", "BANK")}};
    const dn_render_column_t left_cols[] = {{"partner", C_("column", "PARTNER")},
                                            {"amount", C_("column", "AMOUNT")},
                                            {"what", C_("column", "WHY")}};
    const json_t *lines = json_object_get(result, "lines"), *value;
    const json_t *left = json_object_get(result, "left_out");
    const char *command = call->cmd->command, *key;
    long long run = (long long)json_integer_value(json_object_get(result, "run"));
    long long n = (long long)json_integer_value(json_object_get(result, "payouts"));
    int already = json_is_true(json_object_get(result, "already")), rc = 0;

    if (call->format == DN_RENDER_JSON || !json_is_array(lines) || !json_is_array(left))
        return s_print(result, call->format);
    if (call->format != DN_RENDER_TABLE)
        return s_print(lines, call->format);
    if (strcmp(command, "payout.show") == 0) {
        json_t *header = json_object();
        json_object_foreach((json_t *)result, key, value)
        {
            if (!json_is_array(value) && strcmp(key, "already") != 0)
                json_object_set(header, key, (json_t *)value);
        }
        rc = s_print(header, DN_RENDER_TABLE);
        json_decref(header);
        if (rc == 0 && json_array_size(lines))
            printf("\n");
    } else if (s_opt.quiet) {
        /* the tables only */
    } else if (strcmp(command, "payout.run") == 0 && !run) {
        printf(_("nothing to pay for %s at or above %s %s\n"), s_str(result, "period"),
               s_str(result, "min"), s_str(result, "currency"));
    } else if (strcmp(command, "payout.run") == 0 && already) {
        printf(_("run %lld of %s at or above %s %s was proposed already, at %s by %s: "
                 "the same run, not a second; approve it: dealernet-hq payout approve "
                 "%lld\n"),
               run, s_str(result, "period"), s_str(result, "min"),
               s_str(result, "currency"), s_str(result, "created"),
               s_str(result, "created_by"), run);
    } else if (strcmp(command, "payout.run") == 0) {
        printf(n == 1 ? _("run %lld proposed for %s: %lld payout of %s %s in all; nothing "
                          "is posted until it is approved: dealernet-hq payout approve "
                          "%lld\n")
                      : _("run %lld proposed for %s: %lld payouts of %s %s in all; nothing "
                          "is posted until it is approved: dealernet-hq payout approve "
                          "%lld\n"),
               run, s_str(result, "period"), n, s_str(result, "total"),
               s_str(result, "currency"), run);
    } else if (strcmp(command, "payout.approve") == 0 && already) {
        printf(_("run %lld was approved at %s by %s already: nothing was posted this "
                 "time\n"),
               run, s_str(result, "approved"), s_str(result, "approved_by"));
    } else if (strcmp(command, "payout.approve") == 0) {
        printf(n == 1 ? _("run %lld approved: %lld payout of %s %s posted, with its "
                          "reference\n")
                      : _("run %lld approved: %lld payouts of %s %s posted, each with its "
                          "reference\n"),
               run, n, s_str(result, "total"), s_str(result, "currency"));
    } else if (already) {
        printf(_("run %lld was cancelled at %s by %s already\n"), run,
               s_str(result, "cancelled"), s_str(result, "cancelled_by"));
    } else {
        printf(_("run %lld cancelled: none of its payouts is posted\n"), run);
    }
    if (rc == 0 && json_array_size(lines))
        rc = s_columns(lines, lines_cols, sizeof lines_cols / sizeof lines_cols[0]);
    if (rc == 0 && json_array_size(left)) {
        printf("\n%s\n", _("left out:"));
        rc = s_columns(left, left_cols, sizeof left_cols / sizeof left_cols[0]);
    }
    return rc;
}

/*  payout export: the rows the server laid out, as CSV (--excel: for
    Excel), to standard output or to -o FILE, which is never overwritten
    without --force and is made private (it holds account numbers); one
    summary line, on stderr when the file is standard output.  */
static int s_print_payout_export(const s_call_t *call, const json_t *result)
{
    const char *path = s_local(call, "output");
    int force = s_local(call, "force") != NULL, fd = -1, rc;
    dn_render_format_t format = s_local(call, "excel") ? DN_RENDER_EXCEL : DN_RENDER_CSV;
    const json_t *rows = json_object_get(result, "rows");
    FILE *out = stdout;

    if (!json_is_array(rows)) {
        dn_log_error(_("malformed result from %s: %s"), s_opt.server,
                     "rows"); /* i18n: not for people: the JSON key it lacks */
        return dn_exit_code(DN_EPROTO);
    }
    if (path && strcmp(path, "-") != 0) {
        /* a bank file sent twice pays twice: never over another file */
        fd = open(path, O_WRONLY | O_CREAT | (force ? O_TRUNC : O_EXCL),
                  DN_FSPERM_FILE_PRIVATE);
        if (fd < 0 || !(out = fdopen(fd, "w"))) {
            dn_log_error(_("cannot create %s: %s%s"), path, strerror(errno),
                         errno == EEXIST ? _(" (export never overwrites a file: give a new "
                                             "name, or --force)")
                                         : "");
            if (fd >= 0)
                close(fd);
            return EX_CANTCREAT;
        }
    }
    rc = dn_render(out, rows, format);
    if (out != stdout && fclose(out) != 0 && rc == 0)
        rc = DN_EIO;
    if (rc) {
        dn_log_error(_("cannot write %s: %s"), out == stdout ? _("standard output") : path,
                     dn_strerror(rc));
        if (fd >= 0)
            unlink(path); /* a bank file cut short must not be uploaded */
        return dn_exit_code(rc);
    }
    if (!s_opt.quiet)
        fprintf(fd >= 0 ? stdout : stderr,
                _("run %lld of %s: %lld payouts, %s %s, in the %s layout, written to %s\n"),
                (long long)json_integer_value(json_object_get(result, "run")),
                s_str(result, "period"),
                (long long)json_integer_value(json_object_get(result, "payouts")),
                s_str(result, "total"), s_str(result, "currency"), s_str(result, "format"),
                fd >= 0 ? path : _("standard output"));
    return 0;
}

static int s_print_sale_void(const s_call_t *call, const json_t *result)
{
    long long n = (long long)json_integer_value(json_object_get(result, "transfers"));
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(n == 1 ? _("sale %s voided by %s (correction %lld): %lld transfer reverses "
                          "%s %s in %s; the sale counts as refunded in full (%s %s more)\n")
                      : _("sale %s voided by %s (correction %lld): %lld transfers reverse "
                          "%s %s in %s; the sale counts as refunded in full (%s %s more)\n"),
               s_str(result, "sale"), s_str(result, "by"),
               (long long)json_integer_value(json_object_get(result, "correction")), n,
               s_str(result, "reversed"), s_str(result, "currency"),
               s_str(result, "period"), s_str(result, "refunded"),
               s_str(result, "currency"));
    return 0;
}

/*  sale: the header ("key  value" lines, as a statement's), then each
    array of the drill-down as a table under its heading.  --csv prints
    the transfers only (one table a spreadsheet can total), --json the
    drill-down as it came.  */
static int s_print_sale_show(const s_call_t *call, const json_t *result)
{
    static const struct {
        const char *key, *heading;
    } tables[] = {
        {"lines", N_("lines:")},
        {"path", N_("tree path at the sale's time (level 0 the seller):")},
        {"transfers", N_("transfers (exact = base x rate_bps / 10000, or base x share; "
                         "rounding = amount - exact):")},
        {"refunds", N_("refunds:")},
        {"holds", N_("exceptions:")},
    };
    json_t *header = json_object(), *empty = json_array(), *value;
    const char *key;
    int rc = 0;

    if (call->format == DN_RENDER_JSON || !json_is_object(result)) {
        rc = s_print(result, call->format);
        goto done;
    }
    if (!header || !empty) {
        dn_log_error("%s", _("out of memory"));
        rc = EX_SOFTWARE;
        goto done;
    }
    if (call->format != DN_RENDER_TABLE) {
        value = json_object_get(result, "transfers");
        rc = s_print(value ? value : empty, call->format);
        goto done;
    }
    json_object_foreach((json_t *)result, key, value)
        if (!json_is_array(value))
            json_object_set(header, key, value);
    rc = s_print(header, DN_RENDER_TABLE);
    for (size_t i = 0; rc == 0 && i < sizeof tables / sizeof tables[0]; i++) {
        value = json_object_get(result, tables[i].key);
        printf("\n%s\n", _(tables[i].heading));
        rc = s_print(value ? value : empty, DN_RENDER_TABLE);
    }
done:
    json_decref(header);
    json_decref(empty);
    return rc;
}

/*  sales list: the sales as a table, then how many more match when the
    limit cut them; --csv prints the sales only, --json the result as it
    came ({"sales", "more"}).  */
static int s_print_sale_list(const s_call_t *call, const json_t *result)
{
    const json_t *sales = json_object_get(result, "sales");
    long long more = (long long)json_integer_value(json_object_get(result, "more"));
    int rc;

    if (call->format == DN_RENDER_JSON || !json_is_array(sales))
        return s_print(result, call->format);
    if ((rc = s_print(sales, call->format)) != 0 || call->format != DN_RENDER_TABLE)
        return rc;
    if (more && !s_opt.quiet)
        printf(_("%zu sales shown, %lld more match: narrow the filters or raise --limit "
                 "(at most %d)\n"),
               json_array_size(sales), more, DN_HQ_MAX_SALE_LIMIT);
    return 0;
}

static int s_print_adjust(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("adjustment of %s %s to %s recorded by %s (correction %lld, period %s); "
                 "balance now %s %s\n"),
               s_str(result, "amount"), s_str(result, "currency"),
               s_str(result, "account"), s_str(result, "by"),
               (long long)json_integer_value(json_object_get(result, "correction")),
               s_str(result, "period"), s_str(result, "balance"),
               s_str(result, "currency"));
    return 0;
}

static int s_print_notice_send(const s_call_t *call, const json_t *result)
{
    long long id = (long long)json_integer_value(json_object_get(result, "id"));
    long long n = (long long)json_integer_value(json_object_get(result, "sites"));
    const char *target = s_str(result, "target");
    char whom[64 + DN_MAX_CODE_LEN];

    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet) {
        printf("%lld\n", id);
        return 0;
    }
    if (strcmp(target, "partner") == 0)
        snprintf(whom, sizeof whom, _("partner %s and everything under it"),
                 s_str(result, "partner"));
    else if (strcmp(target, "site") == 0)
        snprintf(whom, sizeof whom, _("site %s"), s_str(result, "site"));
    else
        snprintf(whom, sizeof whom, "%s", _("all sites"));
    /* whom is a noun phrase: "all sites", "site S1" */
    if (n == 1)
        printf(_("notice %lld sent to %s: %lld site will receive it at its next sync\n"), id,
               whom, n);
    else
        printf(_("notice %lld sent to %s: %lld sites will receive it at their next sync\n"),
               id, whom, n);
    return 0;
}

/*  verify: each difference on its own line (stdout); when there is any,
    "verify: N differences" on stderr and exit 65.  */
static int s_print_site_threshold(const s_call_t *call, const json_t *result)
{
    if (call->format == DN_RENDER_JSON)
        return s_print(result, call->format);
    if (json_is_string(json_object_get(result, "threshold")))
        printf(_("site %s: sales above %s %s are flagged large_sale\n"), s_str(result, "site"),
               s_str(result, "threshold"), s_str(result, "currency"));
    else
        printf(_("site %s: sales above the network's threshold are flagged large_sale\n"),
               s_str(result, "site"));
    return 0;
}

static int s_print_exception_resolve(const s_call_t *call, const json_t *result)
{
    /* one sentence per resolution (the server's word, exceptions.resolution),
       for translators; a word this program does not know shows as it came */
    static const struct {
        const char *word, *text;
    } said[] = {{"posted", N_("exception %lld posted\n")},
                {"dismissed", N_("exception %lld dismissed\n")},
                {"accepted", N_("exception %lld accepted\n")},
                {"acknowledged", N_("exception %lld acknowledged\n")}};
    long long id = (long long)json_integer_value(json_object_get(result, "id"));
    long long posted = (long long)json_integer_value(json_object_get(result, "posted"));
    const char *resolution = s_str(result, "resolution");

    if (call->format == DN_RENDER_JSON)
        return s_print(result, call->format);
    if (posted > 0 && strcmp(resolution, "posted") == 0) {
        printf(_("exception %lld posted: %lld event(s) posted into the open period\n"), id,
               posted);
        return 0;
    }
    if (posted > 0) {
        printf(_("exception %lld %s: %lld event(s) posted into the open period\n"), id,
               resolution, posted);
        return 0;
    }
    for (size_t i = 0; i < sizeof said / sizeof said[0]; i++) {
        if (strcmp(resolution, said[i].word) == 0) {
            printf(_(said[i].text), id);
            return 0;
        }
    }
    printf(_("exception %lld %s\n"), id, resolution);
    return 0;
}

static int s_print_verify(const s_call_t *call, const json_t *result)
{
    const json_t *differences = json_object_get(result, "differences"), *item;
    size_t n = json_array_size(differences), i;
    int ok = json_is_true(json_object_get(result, "ok")), rc = 0;

    if (call->format != DN_RENDER_TABLE) {
        rc = s_print(result, call->format);
    } else {
        json_array_foreach(differences, i, item)
        {
            const char *text = json_string_value(item);
            if (text)
                printf("%s\n", text);
            else
                rc = s_print(item, DN_RENDER_JSON);
        }
        if (ok && !s_opt.quiet)
            printf(_("verify: ok (%lld events, %lld transfers, %lld accounts, %lld "
                     "corrections)\n"),
                   (long long)json_integer_value(json_object_get(result, "events")),
                   (long long)json_integer_value(json_object_get(result, "transfers")),
                   (long long)json_integer_value(json_object_get(result, "accounts")),
                   (long long)json_integer_value(json_object_get(result, "corrections")));
    }
    if (rc == 0 && fflush(stdout) != 0) {
        dn_log_error(_("cannot write the result: %s"), strerror(errno));
        return dn_exit_code(DN_EIO);
    }
    if (rc == 0 && !ok) {
        if (n == 1)
            dn_log_error("%s", _("verify: 1 difference"));
        else
            dn_log_error(_("verify: %zu differences"), n);
        rc = EX_DATAERR;
    }
    return rc;
}

/*  Prints the rows of result as a table without the keys hidden (a
    NULL-terminated list); other formats show result whole.  Returns the
    exit status.  */
static int s_print_table_without(const s_call_t *call, const json_t *result,
                                 const char *const *hidden)
{
    json_t *shown, *row;
    size_t i;
    int rc;

    if (call->format != DN_RENDER_TABLE || !json_is_array(result))
        return s_print(result, call->format);
    if (!(shown = json_deep_copy(result))) {
        dn_log_error("%s", _("out of memory"));
        return EX_SOFTWARE;
    }
    json_array_foreach(shown, i, row)
    {
        for (size_t k = 0; hidden[k]; k++)
            json_object_del(row, hidden[k]);
    }
    rc = s_print(shown, DN_RENDER_TABLE);
    json_decref(shown);
    return rc;
}

/*  compliance: the month and the plan's setting, the individuals as a
    table (their _minor twins left out), then the summary; --csv prints the
    individuals only, --json the whole report.  */
static int s_print_compliance(const s_call_t *call, const json_t *result)
{
    const json_t *rows = json_object_get(result, "individuals");
    const json_t *summary = json_object_get(result, "summary");
    const char *setting = json_string_value(json_object_get(result, "compliance"));
    json_t *shown, *row, *sum = NULL, *value;
    const char *key;
    void *tmp;
    size_t i;
    int rc;

    if (call->format == DN_RENDER_JSON || !json_is_array(rows) || !json_is_object(summary))
        return s_print(result, call->format);
    if (call->format == DN_RENDER_CSV)
        return s_print(rows, DN_RENDER_CSV);
    if (!(shown = json_deep_copy(rows)) || !(sum = json_deep_copy(summary))) {
        json_decref(shown);
        dn_log_error("%s", _("out of memory"));
        return EX_SOFTWARE;
    }
    json_array_foreach(shown, i, row)
    {
        json_object_foreach_safe(row, tmp, key, value)
        {
            if (strstr(key, "_minor"))
                json_object_del(row, key);
        }
    }
    json_object_foreach_safe(sum, tmp, key, value)
    {
        if (strstr(key, "_minor"))
            json_object_del(sum, key);
    }
    if (!s_opt.quiet) {
        printf(_("compliance report for %s (%s); plan in force at the month's end: %s\n"),
               s_str(result, "period"), s_str(result, "currency"),
               setting ? setting : _("none in force"));
        printf("\n");
    }
    rc = s_print(shown, DN_RENDER_TABLE);
    if (rc == 0 && !s_opt.quiet) {
        printf("\n");
        rc = s_print(sum, DN_RENDER_TABLE);
    }
    json_decref(shown);
    json_decref(sum);
    return rc;
}

/*  sites: the table leaves out silent_ms and lag_ms, which silent_for and
    lag say for a person; --json and --csv keep them for scripts.  */
static int s_print_sites(const s_call_t *call, const json_t *result)
{
    static const char *const hidden[] = {"silent_ms", "lag_ms", NULL};
    return s_print_table_without(call, result, hidden);
}

/*  site list: the site is `site`, as in `sites`; `code`, its name before,
    stays in --json and --csv for the scripts written then, and is left out
    of the table, which would show it twice.  */
static int s_print_site_list(const s_call_t *call, const json_t *result)
{
    static const char *const hidden[] = {"code", NULL};
    json_t *shown, *row;
    size_t i;
    int rc;

    if (call->format != DN_RENDER_TABLE || !json_is_array(result))
        return s_print(result, call->format);
    /* the table shows the name beside the site it names; --json and --csv
       keep their columns where scripts found them, name last */
    if (!(shown = json_array())) {
        dn_log_error("%s", _("out of memory"));
        return EX_SOFTWARE;
    }
    json_array_foreach(result, i, row)
    {
        json_t *copy = json_object();
        const char *key;
        json_t *value;
        if (!copy || json_array_append_new(shown, copy)) {
            json_decref(shown);
            dn_log_error("%s", _("out of memory"));
            return EX_SOFTWARE;
        }
        json_object_foreach((json_t *)row, key, value)
        {
            if (strcmp(key, "name") == 0)
                continue;
            json_object_set(copy, key, value);
            if (strcmp(key, "site") == 0)
                json_object_set(copy, "name", json_object_get(row, "name"));
        }
    }
    rc = s_print_table_without(call, shown, hidden);
    json_decref(shown);
    return rc;
}

static int s_print_site_rename(const s_call_t *call, const json_t *result)
{
    const json_t *name = json_object_get(result, "name");
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet) {
        if (json_is_string(name))
            printf(_("site %s is named %s\n"), s_str(result, "site"), json_string_value(name));
        else
            printf(_("site %s has no name\n"), s_str(result, "site"));
    }
    return 0;
}

/* -- HQ catalogue (issue 14, part B) ------------------------------------ */

/*  Whose price list a result's "list" names, for a sentence.  */
static const char *s_list_owner(const json_t *result, char *out, size_t size)
{
    const char *list = s_str(result, "list");
    if (strcmp(list, "network") == 0)
        snprintf(out, size, "%s", _("the network's price list"));
    else
        snprintf(out, size, _("%s's price list"), list);
    return out;
}

static int s_print_catalog_set(const s_call_t *call, const json_t *result)
{
    /* one whole sentence per case, for translators: [fixed][changed] */
    static const char *const said[2][2] = {
        {N_("catalog: %s at %s on %s from %s (unchanged, version %lld)\n"),
         N_("catalog: %s at %s on %s from %s (changed, version %lld)\n")},
        {N_("catalog: %s at %s on %s from %s, fixed (unchanged, version %lld)\n"),
         N_("catalog: %s at %s on %s from %s, fixed (changed, version %lld)\n")}};
    int fixed = json_is_true(json_object_get(result, "fixed"));
    int changed = json_is_true(json_object_get(result, "changed"));
    char owner[128 + DN_MAX_CODE_LEN];

    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_(said[fixed][changed]), s_str(result, "sku"), s_str(result, "price"),
               s_list_owner(result, owner, sizeof owner), s_str(result, "effective"),
               (long long)json_integer_value(json_object_get(result, "version")));
    return 0;
}

static int s_print_catalog_remove(const s_call_t *call, const json_t *result)
{
    json_int_t n = json_integer_value(json_object_get(result, "removed"));
    char owner[128 + DN_MAX_CODE_LEN];
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(n == 1 ? _("catalog: %s removed from %s (%lld row, version %lld)\n")
                      : _("catalog: %s removed from %s (%lld rows, version %lld)\n"),
               s_str(result, "sku"), s_list_owner(result, owner, sizeof owner), (long long)n,
               (long long)json_integer_value(json_object_get(result, "version")));
    return 0;
}

/*  catalog import FILE: the file is checked as CSV here (a broken quote is
    named with its line and column before anything is sent), then sent in
    parts of at most DN_CATALOG_PART_BYTES of rows, each with the header,
    one admin request each (see DN_CATALOG_PART_BYTES for why not one);
    the server stores the whole file when the last part arrives, or
    nothing.  Returns the exit status; *result the last part's.  */
static int s_catalog_import(const s_call_t *call, json_t **result)
{
    const char *path = s_arg(call, "text");
    char upload[2 * DN_ID_BYTES + 1], part_text[24], line_text[24];
    uint8_t id[DN_ID_BYTES];
    dn_csv_t csv = {0};
    dn_csv_error_t err;
    size_t *starts = NULL, n_lines = 1, len, header_end, row = 1, part = 0;
    char *data = NULL, *piece = NULL;
    FILE *file;
    int code = 0;

    *result = NULL;
    if (!(file = fopen(path, "rb"))) {
        dn_log_error(_("cannot read %s: %s"), path, strerror(errno));
        return errno == ENOENT ? EX_NOINPUT : EX_IOERR;
    }
    data = malloc(DN_CATALOG_FILE_MAX_BYTES + 1);
    len = data ? fread(data, 1, DN_CATALOG_FILE_MAX_BYTES + 1, file) : 0;
    if (!data || ferror(file) || len > DN_CATALOG_FILE_MAX_BYTES) {
        if (!data)
            dn_log_error(_("out of memory reading %s"), path);
        else if (len > DN_CATALOG_FILE_MAX_BYTES)
            dn_log_error(_("%s is larger than %d bytes"), path, DN_CATALOG_FILE_MAX_BYTES);
        else
            dn_log_error(_("cannot read %s: %s"), path, strerror(errno));
        fclose(file);
        free(data);
        return !data ? EX_SOFTWARE : len > DN_CATALOG_FILE_MAX_BYTES ? EX_DATAERR : EX_IOERR;
    }
    fclose(file);
    data[len] = '\0';
    code = dn_csv_parse(data, len, DN_CATALOG_MAX_ROWS + 1, &csv, &err);
    if (code == DN_ELIMIT || code == DN_EPARSE) {
        if (code == DN_ELIMIT)
            dn_log_error(_("%s: line %ld: the file has more than %d rows"), path, err.line,
                         DN_CATALOG_MAX_ROWS);
        else
            dn_log_error(_("%s: line %ld, column %ld: %s"), path, err.line, err.column, err.why);
        free(data);
        return EX_DATAERR;
    }
    if (code) {
        dn_log_error(_("out of memory reading %s"), path);
        free(data);
        return EX_SOFTWARE;
    }
    if (csv.n_rows < 2) {
        dn_log_error(_("%s has no rows under its header (sku,name,category,price,effective"
                       "[,partner][,fixed])"),
                     path);
        dn_csv_free(&csv);
        free(data);
        return EX_DATAERR;
    }
    /* where each line starts: a row starts at the start of its line */
    for (size_t i = 0; i < len; i++)
        n_lines += data[i] == '\n';
    if (!(starts = malloc((n_lines + 2) * sizeof *starts)) ||
        !(piece = malloc(DN_CATALOG_PART_BYTES * 2 + 1))) {
        dn_log_error(_("out of memory reading %s"), path);
        code = EX_SOFTWARE;
        goto done;
    }
    starts[1] = 0;
    for (size_t i = 0, l = 1; i < len; i++)
        if (data[i] == '\n')
            starts[++l] = i + 1;
    header_end = starts[csv.rows[1].line];
    if (header_end > DN_CATALOG_PART_BYTES) {
        dn_log_error(_("%s: the header is longer than %d bytes"), path, DN_CATALOG_PART_BYTES);
        code = EX_DATAERR;
        goto done;
    }
    if (dn_id_new(id)) {
        dn_log_error("%s", _("cannot draw a random import id"));
        code = EX_SOFTWARE;
        goto done;
    }
    for (size_t i = 0; i < DN_ID_BYTES; i++)
        snprintf(upload + 2 * i, 3, "%02x", id[i]);

    while (row < csv.n_rows && code == 0) {
        size_t first = row, from = starts[csv.rows[row].line], to;
        const char *args[10];
        /* rows while the part's bytes fit: at least one.  A row ends where
           the next one starts (or at the file's end).  */
#define S_ROW_END(r) ((r) + 1 < csv.n_rows ? starts[csv.rows[(r) + 1].line] : len)
        if (S_ROW_END(first) - from > DN_CATALOG_PART_BYTES) {
            dn_log_error(_("%s: line %ld: the row is longer than %d bytes"), path,
                         csv.rows[first].line, DN_CATALOG_PART_BYTES);
            code = EX_DATAERR;
            break;
        }
        while (row + 1 < csv.n_rows && S_ROW_END(row + 1) - from <= DN_CATALOG_PART_BYTES)
            row++;
        to = S_ROW_END(row);
        row++;
#undef S_ROW_END
        memcpy(piece, data, header_end);
        memcpy(piece + header_end, data + from, to - from);
        piece[header_end + to - from] = '\0';
        snprintf(part_text, sizeof part_text, "%zu", ++part);
        snprintf(line_text, sizeof line_text, "%ld", csv.rows[first].line);
        args[0] = "text", args[1] = piece;
        args[2] = "upload", args[3] = upload;
        args[4] = "part", args[5] = part_text;
        args[6] = "line", args[7] = line_text;
        args[8] = "last", args[9] = row < csv.n_rows ? NULL : "1";
        json_decref(*result);
        *result = NULL;
        code = s_request(call->cmd->command, args, 5, result);
        /* a progress line on files of several parts */
        if (code == 0 && row < csv.n_rows && !s_opt.quiet)
            fprintf(stderr, _("catalog import: %zu of %zu rows sent\n"), row - 1, csv.n_rows - 1);
    }
done:
    dn_csv_free(&csv);
    free(starts);
    free(piece);
    free(data);
    return code;
}

static int s_print_catalog_import(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (!s_opt.quiet)
        printf(_("catalog import: %lld rows, %lld changed, %lld unchanged; catalogue version "
                 "%lld\n"),
               (long long)json_integer_value(json_object_get(result, "rows")),
               (long long)json_integer_value(json_object_get(result, "changed")),
               (long long)json_integer_value(json_object_get(result, "unchanged")),
               (long long)json_integer_value(json_object_get(result, "version")));
    return 0;
}

/*  web user add NAME: the password is read here, never taken from the
    command line (dn_secret.h says why): on a terminal twice, hidden, and
    the two must agree; with --password-stdin from standard input (a
    script's pipe).  The server checks its strength and stores its scrypt
    hash only.  Returns the exit status; *result the server's answer.  */
static int s_web_user_add(const s_call_t *call, json_t **result)
{
    char password[DN_SECRET_MAX_BYTES + 1], again[DN_SECRET_MAX_BYTES + 1], prompt[128];
    char why[DN_WHY_SIZE];
    const char *args[4];
    int from_stdin = s_arg(call, "stdin") != NULL, code;

    *result = NULL;
    if (!from_stdin && !isatty(STDIN_FILENO)) {
        dn_log_error("%s", _("standard input is not a terminal: give --password-stdin to read "
                             "the password from it"));
        return EX_USAGE;
    }
    snprintf(prompt, sizeof prompt, _("password for web user %s: "), s_arg(call, "name"));
    code = dn_secret_read_stdin(prompt, _("password"), password, sizeof password, why,
                                sizeof why);
    if (code == 0 && !from_stdin) {
        code = dn_secret_read_stdin(_("the same password again: "), _("password"), again,
                                    sizeof again, why, sizeof why);
        if (code == 0 && strcmp(password, again) != 0) {
            dn_secret_wipe(password, sizeof password);
            dn_secret_wipe(again, sizeof again);
            dn_log_error("%s", _("the two passwords differ: nothing was changed"));
            return EX_DATAERR;
        }
        dn_secret_wipe(again, sizeof again);
    }
    if (code) {
        dn_secret_wipe(password, sizeof password);
        dn_log_error("%s", why);
        return dn_exit_code(code);
    }
    args[0] = "name", args[1] = s_arg(call, "name");
    args[2] = "password", args[3] = password;
    code = s_request(call->cmd->command, args, 2, result);
    dn_secret_wipe(password, sizeof password);
    return code;
}

static int s_print_web_user(const s_call_t *call, const json_t *result)
{
    if (call->format != DN_RENDER_TABLE)
        return s_print(result, call->format);
    if (s_opt.quiet)
        return 0;
    if (strcmp(call->cmd->command, "web.user.add") == 0)
        printf(_("web user %s added: it may log in to the web page now\n"), s_str(result, "user"));
    else
        printf(_("web user %s removed: it can no longer log in, and its sessions have ended\n"),
               s_str(result, "user"));
    return 0;
}

/* -- the commands -------------------------------------------------------- */

#define S_LISTING (S_FMT_JSON | S_FMT_CSV)

static const s_command_t s_commands[] = {
    {"partner add", /* i18n: not for people: the command typed */
     "partner.add",
     "CODE --name NAME --kind KIND [--parent CODE] [--recruiter CODE] "
     "[--joined YYYY-MM-DD] [--json]",
     N_("Adds a partner to the commercial tree.  KIND is one of hq, region,\n"
        "distributor, dealer, reseller.  --parent names its upline, which must exist\n"
        "already.  --recruiter names the partner who recruited it: the recruiter\n"
        "earns the plan's recruit override on its sales for recruit_override_days\n"
        "from --joined (a date; default: now).\n"),
     {{"code", S_PARTNER, N_("partner add needs the partner's CODE")}},
     {{"name", "name", S_TEXT, 0, 1},
      {"kind", "kind", S_TEXT, 0, 1},
      {"parent", "parent", S_TEXT, 0, 0},
      {"recruiter", "recruiter", S_TEXT, 0, 0},
      {"joined", "joined", S_DATE, 0, 0}},
     N_("partner add needs --name NAME and --kind hq|region|distributor|dealer|reseller"),
     S_FMT_JSON,
     0,
     s_print_partner_add},
    {"partner list", /* i18n: not for people: the command typed */
     "partner.list",
     "[--json|--csv]",
     N_("Lists the partners: code, name, kind, current parent, recruiter, status\n"
        "(active or suspended), when they joined, when they were added.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"partner move", /* i18n: not for people: the command typed */
     "partner.move",
     "CODE --parent CODE [--effective YYYY-MM-DD] [--json]",
     N_("Moves a partner, with its downline, under another parent from a date on\n"
        "(midnight in the network's zone; default: now).  History is never rewritten: sales recorded\n"
        "before the move keep the upline they had.  Refused: a move that would make\n"
        "a cycle, moving an hq partner, a second move of a partner at the same time,\n"
        "and a date at or before a sale already posted for the partner or its\n"
        "downline (that would change commissions already posted).\n"),
     {{"code", S_PARTNER, N_("partner move needs the partner's CODE")}},
     {{"parent", "parent", S_PARTNER, 0, 1}, {"effective", "effective", S_DATE, 0, 0}},
     N_("partner move needs --parent CODE (the new upline)"),
     S_FMT_JSON,
     0,
     s_print_partner_move},
    {"partner tree", /* i18n: not for people: the command typed */
     "partner.tree",
     "[CODE] [--at YYYY-MM-DD] [--json|--csv]",
     N_("Prints the tree as it stood at the end of a day (the network's zone; default: now): from\n"
        "CODE, or from every partner without a parent; depth first, children by\n"
        "code; each partner with its parent and its status (active or suspended)\n"
        "then.\n"),
     {{"code", S_PARTNER, NULL}},
     {{"at", "at", S_DATE, 0, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"partner suspend", /* i18n: not for people: the command typed */
     "partner.suspend",
     "CODE [--json]",
     N_("Suspends a partner from now on: it earns nothing, and the next active\n"
        "partner above it takes its level.  Refused for a partner already suspended.\n"),
     {{"code", S_PARTNER, N_("partner suspend needs the partner's CODE")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_partner_status},
    {"partner resume", /* i18n: not for people: the command typed */
     "partner.resume",
     "CODE [--json]",
     N_("Ends a partner's suspension from now on.  Refused for an active partner.\n"),
     {{"code", S_PARTNER, N_("partner resume needs the partner's CODE")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_partner_status},
    {"site add", /* i18n: not for people: the command typed */
     "site.add",
     "CODE --partner CODE [--name NAME] [--qr|--no-qr] [--json]",
     N_("Adds a site (one agent installation) owned by a partner and prints its\n"
        "enrollment code (DN1:...), which holds the server's address and key, the\n"
        "site and its single-use token, valid 72 hours: at the shop, run\n"
        "'dealernet-agent enroll' and paste it.  The server keeps only the token's\n"
        "hash: it is shown this once.  On a terminal the code is also drawn as a\n"
        "QR code; --no-qr leaves it out, --qr draws it into a file or pipe too.\n"
        "With -q only the code is printed; --json gives the token and the code\n"
        "(enrollment_code); neither draws it.\n"
        "--name: the site's display name, any script, at most 64 characters\n"
        "(shown in site list; change it with site rename).\n"),
     {{"code", S_SITE, N_("site add needs the site's CODE")}},
     {{"partner", "partner", S_PARTNER, 0, 1}, {"name", "name", S_TEXT, 0, 0}},
     N_("site add needs --partner CODE (the partner who owns the site)"),
     S_FMT_JSON | S_FMT_QR,
     0,
     s_print_enrollment},
    {"site token", /* i18n: not for people: the command typed */
     "site.token",
     "CODE [--unrevoke] [--qr|--no-qr] [--json]",
     N_("Issues a new single-use enrollment code for an existing site: a new PC, an\n"
        "expired or used code, a lost key.  Valid 72 hours; an earlier unused code\n"
        "of the site stops working.  The PC that enrolls with it takes the site over:\n"
        "it continues the site's event chain, and the PC enrolled before is refused\n"
        "from then on (what it did not sync stays in its agent.db).  A revoked site\n"
        "needs --unrevoke: the revocation ends now, its old key stays refused.\n"
        "--qr, --no-qr, -q and --json as for site add.\n"),
     {{"code", S_SITE, N_("site token needs the site's CODE")}},
     {{"unrevoke", "unrevoke", S_TEXT, 1, 0}},
     NULL,
     S_FMT_JSON | S_FMT_QR,
     0,
     s_print_enrollment},
    {"site rename", /* i18n: not for people: the command typed */
     "site.rename",
     "CODE NAME [--json]",
     N_("Sets a site's display name: any script, at most 64 characters; \"\"\n"
        "removes it.  The code stays what it is.\n"),
     {{"code", S_SITE, N_("site rename needs the site's CODE and the NAME")},
      {"name", S_TEXT, N_("site rename needs the NAME (\"\" removes it)")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_site_rename},
    {"site list", /* i18n: not for people: the command typed */
     "site.list",
     "[--json|--csv]",
     N_("Lists the sites: partner, enrolled, revoked, last seen, highest applied seq,\n"
        "the seq the server waits for after a gap, the agent's clock skew (ms) and\n"
        "the pending count it last reported, and its display name (NAME, beside\n"
        "the site; `name` last in --json and --csv).  --json and --csv name the\n"
        "site both `site` and `code` (its name before).\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     s_print_site_list},
    {"site revoke", /* i18n: not for people: the command typed */
     "site.revoke",
     "CODE [--json]",
     N_("Revokes a site: its key can no longer sync or enroll.  What it already\n"
        "synced stays.\n"),
     {{"code", S_SITE, N_("site revoke needs the site's CODE")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_site_revoke},
    {"site threshold", /* i18n: not for people: the command typed */
     "site.threshold",
     "CODE AMOUNT|- [--json]",
     N_("Sets the site's soft threshold for one sale, in the network's currency: a\n"
        "sale above it is posted as usual and flagged large_sale for HQ to look at\n"
        "(see exceptions).  - goes back to the network's threshold, 50,000.00.\n"),
     {{"code", S_SITE, N_("site threshold needs the site's CODE and the AMOUNT")},
      {"amount", S_TEXT, N_("site threshold needs the AMOUNT (like 20000.00, or -)")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_site_threshold},
    {"member conflicts", /* i18n: not for people: the command typed */
     "member.conflicts",
     "[--json|--csv]",
     N_("Lists the later sign-ups of a phone already signed up at another site\n"
        "(phones compared canonical): the first sign-up kept the member and the\n"
        "referrer.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"member find", /* i18n: not for people: the command typed */
     "member.find",
     "TEXT [--limit N] [--json|--csv]",
     N_("Finds members by the first digits of their phone or by a part of their\n"
        "name, over the whole network.  TEXT of digits (3 or more; spaces, '-' and\n"
        "full-width digits are fine) is the beginning of a phone, read with the\n"
        "network's country: 138 0013 finds +86 138 0013 ....; with a leading + it\n"
        "is the beginning of the international number.  Any other TEXT is a part\n"
        "of a name (ASCII letters in any case).  Per member: the phone, the name,\n"
        "the site it signed up at first, when, its referrer (a phone or a partner)\n"
        "and household.  At most N (default 20, at most 200), by phone; the line\n"
        "after the table says how many more there are.  --csv prints the members\n"
        "only.\n"),
     {{"text", S_TEXT, N_("member find needs a name or the first digits of a phone")}},
     {{"limit", "limit", S_TEXT, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_member_find},
    {"member statement", /* i18n: not for people: the command typed */
     "member.statement",
     "PHONE [--period YYYY-MM] [--json|--csv]",
     N_("Prints a member's referral-credit account for a month (the network's zone; default: this\n"
        "month): the opening balance, every transfer with its sale (referral\n"
        "rewards, clawbacks), the totals by code and the closing balance.  --csv\n"
        "prints the transfers only, --json the whole statement.  PHONE is typed any\n"
        "way (+86 138 0013 8000, 13800138000, full-width digits): the server makes\n"
        "it canonical with the network's country.\n"),
     {{"phone", S_PHONE, N_("member statement needs the member's PHONE")}},
     {{"period", "period", S_PERIOD, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_statement},
    {"plan set", /* i18n: not for people: the command typed */
     "plan.set",
     "FILE [--json]",
     N_("Sets a new plan version from an INI file (see deploy/plan.ini): effective\n"
        "date, currency, level rates in basis points, category tables, cap, and the\n"
        "referral and recruit-override rewards.  A version is never replaced: each\n"
        "has its own effective date, later than every sale already stored, and all\n"
        "use one currency.  A file with an error is refused whole, with the line:\n"
        "'line N: reason'.\n"),
     {{"text", S_FILE, N_("plan set needs the plan FILE")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_plan_set},
    {"plan show", /* i18n: not for people: the command typed */
     "plan.show",
     "[--at YYYY-MM-DD] [--json]",
     N_("Shows the plan version in force at the end of a day (the network's zone; default: now),\n"
        "then the file it was set from.\n"),
     {{NULL}},
     {{"at", "at", S_DATE, 0, 0}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_plan_show},
    {"plan list", /* i18n: not for people: the command typed */
     "plan.list",
     "[--json|--csv]",
     N_("Lists the plan versions, oldest first, the retired ones too: RETIRED and\n"
        "RETIRED_BY say when and by whom.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"plan check", /* i18n: not for people: the command typed */
     "plan.check",
     "FILE [--json|--csv]",
     N_("Checks a plan file exactly as 'plan set' would -- the same 'line N: reason'\n"
        "for a bad file, the same refusals and exit codes -- and stores nothing.\n"
        "When it is valid (exit 0), shows how it differs from the version in force\n"
        "at its effective date, field by field: cap_bps, each rate ('[levels] 1',\n"
        "'[category:rice] 0') added, removed or changed, and the referral values.\n"
        "--csv prints the changes only.\n"),
     {{"text", S_FILE, N_("plan check needs the plan FILE")}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     s_print_plan_check},
    {"plan retire", /* i18n: not for people: the command typed */
     "plan.retire",
     "YYYY-MM-DD [--json]",
     N_("Retires the plan version effective that day: it stays in 'plan list' with\n"
        "who retired it and when, and is never in force again -- sales of its days\n"
        "fall under the version before it.  Refused while any stored sale was\n"
        "recorded between its date and the next version in force (exit 77): that\n"
        "sale was posted under it.  A retired version keeps its date: set the\n"
        "corrected one with another.\n"),
     {{"effective", S_DATE,
       N_("plan retire needs the version's effective date, YYYY-MM-DD")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_plan_retire},
    {"period close", /* i18n: not for people: the command typed */
     "period.close",
     "YYYY-MM [--json]",
     N_("Closes a month (the network's zone): nothing is posted into it again.  An event of a closed\n"
        "month that syncs later posts into the open month, marked with its own\n"
        "month.  Only a month that has ended by the server's clock can be closed\n"
        "(exit 65 for this month or a later one).\n"),
     {{"period", S_PERIOD, N_("period close needs the month, YYYY-MM")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_period_close},
    {"period list", /* i18n: not for people: the command typed */
     "period.list",
     "[--json|--csv]",
     N_("Lists the closed months with when and by whom each was closed, and the\n"
        "open month that postings go to now (STATUS open), by month.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"statement",
     "statement",
     "PARTNER [--period YYYY-MM] [--json|--csv]",
     N_("Prints a partner's commission account for a month (the network's zone; default: this\n"
        "month): the opening balance, every transfer with its sale, level and rate\n"
        "(commissions, overrides, referrals, clawbacks, payouts), the totals by code\n"
        "and the closing balance.  --csv prints the transfers only, --json the whole\n"
        "statement.\n"),
     {{"partner", S_PARTNER, N_("statement needs the PARTNER's code")}},
     {{"period", "period", S_PERIOD, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_statement},
    {"partner bank", /* i18n: not for people: the command typed */
     "partner.bank",
     "CODE --account NUMBER --name NAME --bank BANK [--json]",
     N_("Sets the bank account a payout run pays the partner to, replacing any\n"
        "it had: --account is 8 to 32 digits (spaces between them are ignored),\n"
        "--name the account holder's name and --bank the bank's (any script, up\n"
        "to 64 characters each).  A run copies the details when it is proposed.\n"
        "The server's log names the partner, never the account number.\n"),
     {{"code", S_PARTNER, N_("partner bank needs the partner's CODE")}},
     {{"account", "account", S_TEXT, 0, 1},
      {"name", "name", S_TEXT, 0, 1},
      {"bank", "bank", S_TEXT, 0, 1}},
     N_("partner bank needs --account NUMBER, --name NAME and --bank BANK"),
     S_FMT_JSON,
     0,
     s_print_partner_bank},
    {"payout run", /* i18n: not for people: the command typed */
     "payout.run",
     "--period YYYY-MM --min AMOUNT [--json|--csv]",
     N_("Proposes a payout run of a closed month: each partner's closing balance\n"
        "of the month, less what was paid out to it after the month, at most its\n"
        "balance now, is a payout when at least --min (like 100.00; the minimum\n"
        "is in).  Below it, suspended now, or without bank details (partner bank),\n"
        "a partner is listed as left out, with the reason.  Members' referral\n"
        "credit is not paid by runs.  Nothing is posted until 'payout approve'.\n"
        "Asked again while the run is proposed, the same --period and --min\n"
        "answer that run; another --min is refused (exit 73) until it is approved\n"
        "or cancelled.  An open month is refused (exit 65).  --csv prints the\n"
        "payouts only.\n"),
     {{NULL}},
     {{"period", "period", S_PERIOD, 0, 1}, {"min", "min", S_TEXT, 0, 1}},
     N_("payout run needs --period YYYY-MM and --min AMOUNT (like 100.00)"),
     S_LISTING,
     0,
     s_print_payout_run},
    {"payout approve", /* i18n: not for people: the command typed */
     "payout.approve",
     "RUN [--json|--csv]",
     N_("Posts every payout of a proposed run in one transaction, each as a payout\n"
        "with its reference (RUN-7/DEALER-BJ: run 7's payout to DEALER-BJ).  Each\n"
        "line is checked against what is payable to its partner now and the\n"
        "partner's status now: if one no longer fits, nothing is posted and every\n"
        "such partner is named (exit 65).  Approving again posts nothing and says\n"
        "when the run was approved.\n"),
     {{"run", S_TEXT, N_("payout approve needs the RUN's number (see: payout runs)")}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     s_print_payout_run},
    {"payout cancel", /* i18n: not for people: the command typed */
     "payout.cancel",
     "RUN [--json]",
     N_("Cancels a proposed run: it is never approved, and the month may be\n"
        "proposed again.  An approved run is not cancelled (exit 65): its\n"
        "payouts are posted; correct one with 'adjust'.\n"),
     {{"run", S_TEXT, N_("payout cancel needs the RUN's number (see: payout runs)")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_payout_run},
    {"payout runs", /* i18n: not for people: the command typed */
     "payout.runs",
     "[--json|--csv]",
     N_("Lists the payout runs, newest first: the month, the minimum, the state\n"
        "(proposed, approved, cancelled), how many payouts and their total, how\n"
        "many partners were left out, who proposed, approved or cancelled it and\n"
        "when.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"payout show", /* i18n: not for people: the command typed */
     "payout.show",
     "RUN [--json|--csv]",
     N_("Shows a payout run: its fields, its payouts with their references and\n"
        "bank details as proposed, and the partners left out with the reason.\n"
        "--csv prints the payouts only.\n"),
     {{"run", S_TEXT, N_("payout show needs the RUN's number (see: payout runs)")}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     s_print_payout_run},
    {"payout export", /* i18n: not for people: the command typed */
     "payout.export",
     "RUN --format generic|icbc [-o FILE] [--force] [--excel] "
     "[--payer-account NUMBER --payer-name NAME]",
     N_("Writes an approved run's bank batch file as CSV (UTF-8), to standard\n"
        "output or to -o FILE (made private; never overwritten without --force).\n"
        "--format generic (or csv): reference, partner, account_name,\n"
        "account_number, bank, amount, currency, period.  --format icbc: ICBC's\n"
        "enterprise online banking batch payment layout (CNY only), which names\n"
        "HQ's paying account: --payer-account and --payer-name.  --excel writes a\n"
        "UTF-8 byte-order mark first, for Excel.  The README lists the columns.\n"),
     {{"run", S_TEXT, N_("payout export needs the RUN's number (see: payout runs)")}},
     {{"format", "format", S_TEXT, 0, 1},
      {"output", NULL, S_TEXT, 0, 0},
      {"force", NULL, S_TEXT, 1, 0},
      {"excel", NULL, S_TEXT, 1, 0},
      {"payer-account", "payer_account", S_TEXT, 0, 0},
      {"payer-name", "payer_name", S_TEXT, 0, 0}},
     N_("payout export needs --format generic|icbc"),
     0,
     0,
     s_print_payout_export},
    {"payout",
     "payout",
     "PARTNER AMOUNT --ref TEXT [--json]",
     N_("Records a payout of AMOUNT (in the ledger's currency, like 120.50) from a\n"
        "partner's account to payout clearing, with a reference (a bank transfer\n"
        "number, say).  Refused above the account's balance (exit 65), and with a\n"
        "reference an earlier payout used (exit 73): one payment, one record.\n"
        "A month's payouts in one batch: payout run, approve, export.\n"),
     {{"partner", S_PARTNER, N_("payout needs the PARTNER's code and the AMOUNT")},
      {"amount", S_TEXT, N_("payout needs the AMOUNT (like 120.50)")}},
     {{"ref", "ref", S_TEXT, 0, 1}},
     N_("payout needs --ref TEXT (the payment's reference)"),
     S_FMT_JSON,
     0,
     s_print_payout},
    {"exceptions",
     "exception.list",
     "[--all] [--json|--csv]",
     N_("Lists what the server stored but will not post until HQ says so (held: a\n"
        "seller or referrer outside the site's branch or unknown, a sale in another\n"
        "currency, a refund of a held sale) and what it flagged for HQ to see (a\n"
        "site's clock ahead or behind, a large sale, a phone signed up twice, an\n"
        "agent initialised for another partner), oldest first, each with the\n"
        "command that resolves it.  --all lists the resolved ones too.\n"),
     {{NULL}},
     {{"all", "all", S_TEXT, 1, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"sale void", /* i18n: not for people: the command typed */
     "sale.void",
     "SALE|--site SITE --receipt N --reason TEXT [--json]",
     N_("Voids a sale, append-only.  SALE is the sale's id as the agent and the\n"
        "statements print it (0190c2d4-5e6f-7a8b-9c0d-1e2f3a4b5c6d), or its first 8\n"
        "or more hex digits; or give --site SITE --receipt N: the sale of that site\n"
        "with receipt number N, as the shop's agent printed it (0042).  A receipt\n"
        "number a site gave twice (after a restore) is refused, naming both sales.\n"
        "Every commission, override and referral reward the sale earned (its\n"
        "first-purchase bonus too), less what its refunds already took back, goes\n"
        "back to HQ in new 'adjustment' transfers in the open month; the reports\n"
        "count the sale as refunded in full, in the month of the void.  A later\n"
        "refund of the sale is stored but posts nothing.  The reason (1 to 200\n"
        "characters, one line) and the admin key's name are recorded.  A sale is\n"
        "voided once: a second void is refused (exit 65) with when and by whom.\n"),
     {{"sale", S_TEXT, NULL}}, /* or --site and --receipt: the server checks which */
     {{"reason", "reason", S_TEXT, 0, 1},
      {"site", "site", S_SITE, 0, 0},
      {"receipt", "receipt", S_TEXT, 0, 0}},
     N_("sale void needs --reason TEXT (why the sale is voided)"),
     S_FMT_JSON,
     0,
     s_print_sale_void},
    {"sale",
     "sale.show",
     "SALE|--site SITE --receipt N [--json|--csv]",
     N_("Shows one sale and why it paid what it paid: its site, the seller it was\n"
        "credited to, the member and referrer, channel, payment, receipt, when it\n"
        "was recorded and received, its lines with categories, the plan version in\n"
        "force at its time, the partner tree path as it stood then (level 0 the\n"
        "seller), every transfer it made -- commission, override, referral, bonus,\n"
        "clawback, void -- with level, rate, base, the exact figure before rounding\n"
        "and the rounding (half to even), its refunds, the exceptions that held it,\n"
        "and its void.  SALE is the sale's id or its first 8 or more hex digits, or\n"
        "give --site SITE --receipt N.  --csv prints the transfers only, --json the\n"
        "whole drill-down.\n"),
     {{"sale", S_TEXT, NULL}}, /* or --site and --receipt: the server checks which */
     {{"site", "site", S_SITE, 0, 0}, {"receipt", "receipt", S_TEXT, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_sale_show},
    {"adjust",
     "adjust",
     "PARTNER|member:PHONE AMOUNT --reason TEXT [--json]",
     N_("Posts a manual adjustment, append-only, in the open month: AMOUNT (in the\n"
        "ledger's currency, like 12.50) from HQ's commission expense to a partner's\n"
        "account, or with a minus (-12.50) from the partner's account back to HQ.\n"
        "member:PHONE adjusts a member's referral credit against HQ's referral\n"
        "expense instead.  The reason (1 to 200 characters, one line) and the admin\n"
        "key's name are recorded; statements show the line with its reason.\n"),
     {{"account", S_TEXT,
       N_("adjust needs the PARTNER's code (or member:PHONE) and the AMOUNT")},
      {"amount", S_TEXT, N_("adjust needs the AMOUNT (like 12.50, or -12.50 to debit)")}},
     {{"reason", "reason", S_TEXT, 0, 1}},
     N_("adjust needs --reason TEXT (why the adjustment is made)"),
     S_FMT_JSON,
     0,
     s_print_adjust},
    {"corrections",
     "correction.list",
     "[--json|--csv]",
     N_("Lists the corrections, oldest first: voids and adjustments, when, by\n"
        "which admin key, the sale or account, the amount (a void's: the part of\n"
        "the sale it counts as refunded; REVERSED: what its transfers took back),\n"
        "the period posted into, how many transfers, and the reason.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"exception resolve", /* i18n: not for people: the command typed */
     "exception.resolve",
     "ID --post [--seller CODE] | --dismiss | --accept | --ack  --reason TEXT [--json]",
     N_("Resolves exception ID, recording who and why.  A held sale: --post posts it\n"
        "(for --seller CODE instead of the seller it named), with its held refunds,\n"
        "into the open period; --dismiss keeps it stored and never posts it.  A held\n"
        "referral: --accept puts it in force for sales stored from now on;\n"
        "--dismiss leaves the member unreferred.  A flag: --ack.\n"),
     {{"id", S_TEXT, N_("exception resolve needs the exception's ID (see exceptions)")}},
     {{"post", "post", S_TEXT, 1, 0},
      {"dismiss", "dismiss", S_TEXT, 1, 0},
      {"accept", "accept", S_TEXT, 1, 0},
      {"ack", "ack", S_TEXT, 1, 0},
      {"seller", "seller", S_PARTNER, 0, 0},
      {"reason", "reason", S_TEXT, 0, 1}},
     N_("exception resolve needs --reason TEXT (why, for the record)"),
     S_FMT_JSON,
     0,
     s_print_exception_resolve},
    {"verify",
     "verify",
     "[--json]",
     N_("Recomputes what the ledger can prove: every site's event chain and batch\n"
        "signatures, the transfer chain, every balance against its transfers, that\n"
        "debits equal credits, that nothing was posted into a closed month, every\n"
        "commission, referral, override and clawback from the stored events, and\n"
        "every void and adjustment from its correction, replayed where it was made.\n"
        "Prints each difference on its own line (stdout); then, if there is any,\n"
        "'verify: N differences' on stderr and exits 65; else 'verify: ok (...)' and\n"
        "exits 0.\n"
        "With --json, the report as it came (still exit 65 on a difference).  Waits\n"
        "up to 600 s for the server unless --timeout says otherwise.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     600,
     s_print_verify},
    {"sales list", /* i18n: not for people: the command typed */
     "sale.list",
     "[--site CODE] [--partner CODE] [--member PHONE] [--from YYYY-MM-DD] " /* i18n: not for people: syntax */
     "[--to YYYY-MM-DD] [--channel store|online|community] [--limit N] [--json|--csv]",
     N_("Lists sales, newest first, with their site, seller, member, channel,\n"
        "payment, receipt, total, refunds and whether HQ voided them.  --site keeps\n"
        "one site's; --partner the sales credited to that partner or to anyone\n"
        "below it as the tree stood at each sale's time (the tree its commissions\n"
        "were paid by); --member one member's (a phone, typed any way); --from /\n"
        "--to bound the days (the network's zone, both included); --channel one\n"
        "channel.  At most --limit sales (default 100, at most 1000) are shown, and\n"
        "how many more match.  'dealernet-hq sale SALE' shows one of them whole.\n"),
     {{NULL}},
     {{"site", "site", S_SITE, 0, 0},
      {"partner", "partner", S_PARTNER, 0, 0},
      {"member", "member", S_PHONE, 0, 0},
      {"from", "from", S_DATE, 0, 0},
      {"to", "to", S_DATE, 0, 0},
      {"channel", "channel", S_TEXT, 0, 0},
      {"limit", "limit", S_TEXT, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_sale_list},
    {"sales",
     "report.sales",
     "[--by partner|site|channel|day|month|category] [--from YYYY-MM-DD] " /* i18n: not for people: syntax */
     "[--to YYYY-MM-DD] [--partner CODE [--team]] [--json|--csv]",
     N_("Sales per group (default: per month): how many sales and their total,\n"
        "how many refunds and their amount, and the net, in each currency.  A sale\n"
        "counts on the day it was recorded, a refund on its own day, under the\n"
        "sale's partner, site, channel and categories (a refund by amount is split\n"
        "over the sale's categories in proportion to what is left in each).\n"
        "--from / --to bound the days (the network's zone, both included).  --partner keeps the\n"
        "sales credited to that partner.  --partner CODE --team prints the team\n"
        "volume per month instead: the sales of the partner and of everyone below\n"
        "it as the tree stood at each sale's time, less the refunds of those sales\n"
        "in the refund's month (--from / --to then select months).  --by partner\n"
        "--team (without --partner) prints every partner's team volume over the\n"
        "months --from / --to select, one row per partner.\n"),
     {{NULL}},
     {{"by", "by", S_TEXT, 0, 0},
      {"from", "from", S_DATE, 0, 0},
      {"to", "to", S_DATE, 0, 0},
      {"partner", "partner", S_PARTNER, 0, 0},
      {"team", "team", S_TEXT, 1, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"kpi",
     "report.kpi",
     "[--partner CODE] [--period YYYY-MM] [--json|--csv]",
     N_("Connection KPIs per partner for a month (the network's zone; default: this month).  A\n"
        "member belongs to the partner it named as referrer at sign-up, else to\n"
        "the partner of the site it signed up at.  Per partner: its members who\n"
        "signed up in the month (new_members), bought at least once in it\n"
        "(active_members), bought twice or more (repeat_buyers), referred a member\n"
        "who signed up in it (referrers); their purchases, the total, and its share\n"
        "of all sales recorded in the month, in percent.\n"),
     {{NULL}},
     {{"partner", "partner", S_PARTNER, 0, 0}, {"period", "period", S_PERIOD, 0, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"referrals",
     "report.referrals",
     "[--top N] [--member PHONE] [--json|--csv]",
     N_("The top N referrers (default 10): members and partners by the members\n"
        "they referred, with those members' purchases and the referral rewards the\n"
        "ledger paid (less clawbacks).  With --member: that member's referral tree,\n"
        "depth first, with what each member earned from the members it referred\n"
        "and what its own purchases paid its referrer.\n"),
     {{NULL}},
     {{"top", "top", S_TEXT, 0, 0}, {"member", "member", S_PHONE, 0, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"compliance",
     "compliance.report",
     "[--period YYYY-MM] [--json|--csv]",
     /* xgettext:no-c-format */
     N_("What the ledger paid individuals -- resellers and members -- in a month\n"
        "(the network's; default: this month), for any plan: per individual, how many\n"
        "individuals are above and below it in the partner tree and the referral\n"
        "chains (depth: its longest chain), its net own sales, and its income from\n"
        "its own sales (level 0), from others' sales (levels 1 and up, recruit\n"
        "overrides) and from recruiting (referral rewards), with shares and flags:\n"
        "others_sales, recruiting, over_30pct (a reseller paid more than 30 % of\n"
        "its own sales), chain (depth > 1).  Then the network's totals.  --csv\n"
        "prints the individuals only.\n"),
     {{NULL}},
     {{"period", "period", S_PERIOD, 0, 0}},
     NULL,
     S_LISTING,
     0,
     s_print_compliance},
    {"refusals",
     "refusals",
     "[--json|--csv]",
     N_("What the running server refused since it started, by kind (connections\n"
        "the door closed, handshakes, malformed messages, unknown keys, revoked\n"
        "sites, enrolments), and the connections without a proven key it holds\n"
        "now on each port.  The server also logs the minute's counts once a\n"
        "minute in which any moved.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"sites",
     "report.sites",
     "[--json|--csv]",
     N_("Sync health of every site: sites without contact for more than a day\n"
        "first (longest silence first), then the others, revoked sites last; last\n"
        "contact, how long ago, the events the agent last reported pending and how\n"
        "long the oldest of them has waited (on the server's clock).\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     s_print_sites},
    {"earnings",
     "report.earnings",
     "[--period YYYY-MM] [--json|--csv]",
     N_("Every partner's commission account for a month (the network's zone;\n"
        "default: this month), in the order of the partner tree as it stands now:\n"
        "the opening balance, the month's commissions, referrals, overrides,\n"
        "clawbacks, adjustments and payouts, and the closing balance -- the\n"
        "figures 'statement PARTNER' shows, for all partners in one read.\n"),
     {{NULL}},
     {{"period", "period", S_PERIOD, 0, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"catalog set", /* i18n: not for people: the command typed */
     "catalog.set",
     "SKU PRICE --name NAME [--category CODE] [--effective YYYY-MM-DD] "
     "[--partner CODE] [--fixed] [--json]",
     N_("Sets a SKU's price in HQ's catalogue, which every shop receives on its next\n"
        "sync and uses at the till.  SKU is a code (ASCII); --name is the product's\n"
        "display name in any script, at most 64 characters.  PRICE is a decimal in\n"
        "the network's currency (59.90).  --effective: the day it is in force from\n"
        "(the network's; default: today); a row of the same SKU, list and day is\n"
        "replaced.\n"
        "--partner CODE puts it on that partner's price list, which applies to the\n"
        "sites of its subtree (default: the network's list).  --fixed: the till may\n"
        "not sell it at another price.\n"),
     {{"sku", S_SKU, N_("catalog set needs the SKU and the PRICE")},
      {"price", S_TEXT, N_("catalog set needs the PRICE (like 59.90)")}},
     {{"name", "name", S_TEXT, 0, 1},
      {"category", "category", S_CATEGORY, 0, 0},
      {"effective", "effective", S_DATE, 0, 0},
      {"partner", "partner", S_PARTNER, 0, 0},
      {"fixed", "fixed", S_TEXT, 1, 0}},
     N_("catalog set needs --name NAME (the product's display name)"),
     S_FMT_JSON,
     0,
     s_print_catalog_set},
    {"catalog remove", /* i18n: not for people: the command typed */
     "catalog.remove",
     "SKU [--partner CODE] [--effective YYYY-MM-DD] [--json]",
     N_("Removes a SKU from the network's price list (or --partner's): its row\n"
        "effective that day with --effective, else all its rows on that list.  The\n"
        "shops drop it on their next sync; a shop then prices it from another list\n"
        "that has it, or from its local catalog.\n"),
     {{"sku", S_SKU, N_("catalog remove needs the SKU")}},
     {{"partner", "partner", S_PARTNER, 0, 0}, {"effective", "effective", S_DATE, 0, 0}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_catalog_remove},
    {"catalog list", /* i18n: not for people: the command typed */
     "catalog.list",
     "[--partner CODE] [--json|--csv]",
     N_("Lists HQ's catalogue: for each SKU and price list the row in force now and\n"
        "the future ones, with name, category, price, effective day, the list's\n"
        "owner (network or a partner), fixed, in force, and the version of its last\n"
        "change.  --partner: that partner's list only.\n"),
     {{NULL}},
     {{"partner", "partner", S_PARTNER, 0, 0}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"notice send", /* i18n: not for people: the command typed */
     "notice.send",
     "(--all | --partner CODE | --site CODE) TEXT [--json]",
     N_("Sends a short notice to the shops: to every site (--all), to a partner\n"
        "and everything under it (--partner), or to one site (--site).  Each site\n"
        "receives it at its next sync, signed by the server; the agent shows it in\n"
        "'status' until the shop reads it with 'dealernet-agent notices'.  Who is\n"
        "under a partner is decided when a site syncs, by the tree as it stands\n"
        "then.  TEXT is at most 500 characters, any script; newlines are kept,\n"
        "other control characters are refused.  Prints the notice's id and how\n"
        "many sites it reaches now (revoked ones left out); -q prints the id\n"
        "alone.  A notice cannot be withdrawn: send a correction.\n"),
     {{"text", S_TEXT, N_("notice send needs the notice's TEXT")}},
     {{"all", "all", S_TEXT, 1, 0},
      {"partner", "partner", S_PARTNER, 0, 0},
      {"site", "site", S_SITE, 0, 0}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_notice_send},
    {"notice list", /* i18n: not for people: the command typed */
     "notice.list",
     "[--json|--csv]",
     N_("Lists the notices sent, newest first: id, when, to whom (all, partner\n"
        "CODE, site CODE), the admin who sent it and the text.  Whether a site has\n"
        "received a notice is not listed: see 'sites' for when each site last\n"
        "synced.\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
    {"catalog import", /* i18n: not for people: the command typed */
     "catalog.import",
     "FILE.csv [--json]",
     N_("Imports a CSV file into HQ's catalogue, whole or not at all.  Header:\n"
        "sku,name,category,price,effective[,partner][,fixed] (any order); each row as\n"
        "for catalog set, effective a day (YYYY-MM-DD) on every row, fixed 1 or 0.  A\n"
        "bad row refuses the file, naming its line and field (exit 65).  Rows equal\n"
        "to what is stored change nothing: importing a file again sends the shops\n"
        "nothing.  A large file goes in parts, with a progress line on stderr.\n"),
     {{"text", S_TEXT, N_("catalog import needs the FILE.csv")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     120,
     s_print_catalog_import},
    {"web user add", /* i18n: not for people: the command typed */
     "web.user.add",
     "NAME [--password-stdin] [--json]",
     N_("Adds a user who may log in to the HQ web page (served by dealernet-server,\n"
        "by default at 127.0.0.1 on the admin port + 1).  NAME is a code (a letter,\n"
        "then letters, digits, '_', '.', '-').  The password is never given on the\n"
        "command line: it is read from the terminal, twice, without echo, or with\n"
        "--password-stdin from standard input (for scripts).  It needs at least 10\n"
        "characters; a weak one is refused with the reason (exit 64).  A removed\n"
        "user added again gets the new password.\n"),
     {{"name", S_WEB_USER, N_("web user add needs the user's NAME")}},
     {{"password-stdin", "stdin", S_TEXT, 1, 0}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_web_user},
    {"web user remove", /* i18n: not for people: the command typed */
     "web.user.remove",
     "NAME [--json]",
     N_("Takes a web user's login away: it can no longer log in, and its sessions\n"
        "end at their next request.  The user stays in the list with the time it\n"
        "was removed.\n"),
     {{"name", S_WEB_USER, N_("web user remove needs the user's NAME")}},
     {{NULL}},
     NULL,
     S_FMT_JSON,
     0,
     s_print_web_user},
    {"web user list", /* i18n: not for people: the command typed */
     "web.user.list",
     "[--json|--csv]",
     N_("Lists the web users: name, when added, and when removed (empty while the\n"
        "user may log in).\n"),
     {{NULL}},
     {{NULL}},
     NULL,
     S_LISTING,
     0,
     NULL},
};

#define DN_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_help(FILE *out)
{
    fprintf(out,
            _("usage: dealernet-hq [OPTIONS] COMMAND [OPTIONS]\n\n"
            "Headquarters' client of dealernet-server: partners, sites, members, plans\n"
            "and the commission ledger.\n\n"
            "  --server ENDPOINT  the server's admin endpoint, like\n"
            "                     tcp://hq.example.com:7701 ($DEALERNET_SERVER)\n"
            "  --server-key Z85   the server's public key, printed by 'dealernet-server\n"
            "                     init' ($DEALERNET_SERVER_KEY)\n"
            "  --key FILE         the HQ admin key pair, hq.key from 'dealernet-server\n"
            "                     init' ($DEALERNET_HQ_KEY)\n"
            "  --timeout SEC      how long to wait for the server (default %d)\n"
            "  -q                 quiet: errors and the essential result only\n"
            "  -h, --help, help [COMMAND]  this help, or one command's\n"
            "  -V, --version      print the version\n\n"
            "commands:\n"),
            DN_HQ_TIMEOUT_S);
    for (size_t i = 0; i < DN_COMMANDS; i++)
        fprintf(out, "  %-17s %s\n", s_commands[i].name, s_commands[i].usage);
    fprintf(out, "%s", _("\nListings print a table, or --json, or --csv (--csv --excel for "
                         "Excel).  'dealernet-hq COMMAND\n--help' tells more.\n"));
}


static void s_version(void)
{
    printf("dealernet-hq %s (protocol %d)\n", /* i18n: not for people: scripts read it */
           DN_VERSION, DN_PROTOCOL_VERSION);
}

int main(int argc, char **argv)
{
    struct option longs[DN_HQ_MAX_OPTIONS] = {{"version", no_argument, NULL, 'V'}};
    int c, code = 0;

    dn_i18n_init();

    for (size_t i = 0; s_global_longs[i].name; i++)
        longs[i + 1] = s_global_longs[i];
    dn_log_init("dealernet-hq", DN_LOG_INFO, 0);
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    while ((c = getopt_long(argc, argv, "+qhV", longs, NULL)) != -1) {
        if (c == 'h') {
            s_help(stdout);
            return 0;
        }
        if (c == 'V') {
            s_version();
            return 0;
        }
        switch (s_global_option(c, optarg, &code)) {
        case 1:
            continue;
        case -1:
            return code;
        }
        dn_log_error(_("unknown option or missing value: '%s' (see: dealernet-hq --help)"),
                     argv[optind - 1]);
        return EX_USAGE;
    }
    if (optind >= argc) {
        dn_log_error("%s", _("no command given (see: dealernet-hq --help)"));
        return EX_USAGE;
    }
    /* `help` alone is --help; `help site add` is `site add --help` */
    switch (dn_cli_help_words(&argc, &argv, &optind)) {
    case 1:
        s_help(stdout);
        return 0;
    case -1:
        dn_log_error("%s",
                     _("help takes a command, like 'help site add' (see: dealernet-hq --help)"));
        return EX_USAGE;
    }

    /* A command is one word ("verify"), two ("site add") or three ("web
       user add"), each as typed.  */
    for (size_t i = 0; i < DN_COMMANDS; i++) {
        const char *name = s_commands[i].name;
        int words = 0;
        while (*name) {
            const char *space = strchr(name, ' ');
            size_t len = space ? (size_t)(space - name) : strlen(name);
            if (optind + words >= argc || strncmp(argv[optind + words], name, len) ||
                argv[optind + words][len]) {
                words = 0;
                break;
            }
            words++;
            name += len + (space ? 1 : 0);
        }
        if (!words)
            continue;
        s_current = &s_commands[i];
        /* the command's last word stands in for argv[0] */
        argv += optind + words - 1;
        argc -= optind + words - 1;
        optind = 0; /* restart getopt for the command's own options */
        return s_run(s_current, argc, argv);
    }
    /* a group's first word alone: its subcommands, or what is missing */
    {
        dn_cli_table_t table = {s_commands, DN_COMMANDS, sizeof s_commands[0],
                                offsetof(s_command_t, name), offsetof(s_command_t, usage)};
        if (optind + 1 < argc && dn_cli_is_help(argv[optind + 1]) &&
            dn_cli_group_help(stdout, &table, "dealernet-hq", "dealernet-hq [OPTIONS]", argv[optind]))
            return 0;
        if (dn_cli_group_error(&table, "dealernet-hq", argc, argv, optind))
            return EX_USAGE;
    }
    dn_log_error(_("unknown command '%s' (see: dealernet-hq --help)"), argv[optind]);
    return EX_USAGE;
}
