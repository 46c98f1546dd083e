/*  dealernet-server -- the central server: arguments, signals, start.

    `init` creates the server's folder once; `run` is the daemon.  The
    daemon logs to stderr (the journal under systemd) and stops cleanly on
    SIGTERM or SIGINT: the transaction in hand is committed or rolled back
    and the sockets close with a bounded linger.
*/
#include "dn_i18n.h"
#include "dn_central.h"
#include "dn_error.h"
#include "dn_fsperm.h"
#include "dn_log.h"
#include "dn_money.h"
#include "dn_phones.h"
#include "dn_protocol.h"
#include "dn_server.h"
#include "dn_version.h"
#include "dn_web.h"

#include <getopt.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>


static volatile sig_atomic_t s_stop;

/*  The server's folder's files, checked with the folder before any is
    opened (dn_fsperm).  */
static const dn_fsperm_file_t s_files[] = {
    {DN_CENTRAL_DB_FILE, 0}, {DN_SERVER_KEY_FILE, 1}, {DN_HQ_KEY_FILE, 1}};
#define DN_SERVER_FILES (sizeof s_files / sizeof s_files[0])

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

/*  Each command's usage and help, printed for `COMMAND --help`, `help
    COMMAND` and, all together, for --help.  The usage is command syntax,
    as typed, and stays; the help is marked N_() and printed translated.  */
static const struct {
    const char *name;
    const char *usage;
    const char *help;
} s_commands[] = {
    {"init",
     /* i18n: not for people: command syntax, as typed */
     "[--sync tcp://*:7700] [--admin tcp://*:7701] [--currency CNY]\n"
     "       [--max-sale AMOUNT] [--country 86] [--zone Asia/Shanghai]\n"
     "       [--web ADDRESS|off]",
     N_("           create central.db, the server key pair (server.key) and an HQ\n"
        "           admin key pair (hq.key, for dealernet-hq); print the server's\n"
        "           public key.  --currency: the network's one currency (ISO 4217,\n"
        "           default CNY): every plan and every shop keeps its books in it.\n"
        "           --max-sale: the largest sale the network believes, in currency\n"
        "           units (default 1000000.00); larger sales are refused at the\n"
        "           till and held by the server.  --country: the network's default\n"
        "           country calling code for phones sent or looked up without one.\n"
        "           --zone: the network's time zone (an IANA name, like\n"
        "           Asia/Shanghai): days, months and periods begin at its midnight;\n"
        "           default from the currency (CNY Asia/Shanghai, HKD Asia/Hong_Kong,\n"
        "           JPY Asia/Tokyo, ...; others UTC).  --web: where the HQ web page\n"
        "           listens (HOST:PORT, like 127.0.0.1:8080 or [::1]:8080), or off;\n"
        "           default 127.0.0.1 on the admin port + 1\n")},
    {"run",
     /* i18n: not for people: command syntax, as typed */
     "[--sync ENDPOINT] [--admin ENDPOINT] [--web ADDRESS|off]\n"
     "       [--web-cert FILE --web-key FILE] [--metrics ADDRESS]\n"
     "       [--web-proxy ADDRESS]",
     N_("           serve until SIGTERM/SIGINT (endpoints default to init's);\n"
        "           -v (before or after run): log every applied batch.\n"
        "           --web: the web page's address for this run, or off (default\n"
        "           init's).  --web-cert, --web-key: a PEM certificate and its key:\n"
        "           the page is served over HTTPS (both or neither).  --metrics:\n"
        "           /metrics on this address alone (plain HTTP), not on the page's.\n"
        "           --web-proxy: the numeric address of a reverse proxy in front\n"
        "           (like 127.0.0.1): logins from it are counted by its X-Real-IP\n"
        "           header, not as one address\n")},
};
#define DN_SERVER_COMMANDS (sizeof s_commands / sizeof s_commands[0])

static void s_help(FILE *out)
{
    fprintf(
        out,
        _("usage: dealernet-server [-d DIR] [-v] COMMAND [OPTIONS]\n\n"
          "The central dealernet server.\n\n"
          "  -d DIR         the server's folder (default $DEALERNET_SERVER_DIR, else\n"
          "                 /var/lib/dealernet-server)\n"
          "  -v, --verbose  log every applied batch\n"
          "  -h, --help     this help; 'dealernet-server COMMAND --help' for one "
          "command\n"
          "  -V, --version  print the version\n\n"
          "commands:\n"));
    for (size_t i = 0; i < DN_SERVER_COMMANDS; i++)
        fprintf(out, "  %s %s\n%s", s_commands[i].name, s_commands[i].usage,
                _(s_commands[i].help));
}

/*  The help of one command.  Returns 0, or EX_USAGE for an unknown one.  */
static int s_command_help(const char *name)
{
    for (size_t i = 0; i < DN_SERVER_COMMANDS; i++) {
        if (strcmp(name, s_commands[i].name) == 0) {
            printf(_("usage: dealernet-server [-d DIR] [-v] %s %s\n\n%s"),
                   s_commands[i].name, s_commands[i].usage, _(s_commands[i].help));
            return 0;
        }
    }
    dn_log_error(_("unknown command '%s' (see: dealernet-server --help)"), name);
    return EX_USAGE;
}

static void s_version(void)
{
    printf(_("dealernet-server %s (protocol %d)\n"), DN_VERSION, DN_PROTOCOL_VERSION);
}

/*  The web page's options: --web for init and run, the rest run's.  */
typedef struct {
    const char *web;
    const char *cert;
    const char *key;
    const char *metrics;
    const char *proxy;
} s_web_opts_t;

/*  Checks the web page's options before anything is made or started.
    Returns -1 (all good) or EX_USAGE after one line.  */
static int s_web_check(const s_web_opts_t *web);

/*  Options only init takes.  */
typedef struct {
    const char *currency;
    const char *max_sale;
    const char *country;
    const char *zone;
} s_init_opts_t;

/*  The options of init and run; init NULL: the command takes none of
    init's own (run: web's all, init: --web alone).  */
static int s_endpoints(int argc, char **argv, const char **sync, const char **admin,
                       s_init_opts_t *init, s_web_opts_t *web, const char *command,
                       int *verbose)
{
    static const struct option longs[] = {{"sync", required_argument, NULL, 's'},
                                          {"admin", required_argument, NULL, 'a'},
                                          {"currency", required_argument, NULL, 'c'},
                                          {"max-sale", required_argument, NULL, 'm'},
                                          {"country", required_argument, NULL, 'C'},
                                          {"zone", required_argument, NULL, 'z'},
                                          {"web", required_argument, NULL, 'w'},
                                          {"web-cert", required_argument, NULL, 'W'},
                                          {"web-key", required_argument, NULL, 'K'},
                                          {"metrics", required_argument, NULL, 'M'},
                                          {"web-proxy", required_argument, NULL, 'P'},
                                          {"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'},
                                          {NULL, 0, NULL, 0}};
    int c;
    optind = 0;
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    while ((c = getopt_long(argc, argv, "hv", longs, NULL)) != -1) {
        if (c == 's') {
            *sync = optarg;
        } else if (c == 'a') {
            *admin = optarg;
        } else if (c == 'c' && init) {
            init->currency = optarg;
        } else if (c == 'm' && init) {
            init->max_sale = optarg;
        } else if (c == 'C' && init) {
            init->country = optarg;
        } else if (c == 'z' && init) {
            init->zone = optarg;
        } else if (c == 'w') {
            web->web = optarg;
        } else if (c == 'W' && !init) {
            web->cert = optarg;
        } else if (c == 'K' && !init) {
            web->key = optarg;
        } else if (c == 'M' && !init) {
            web->metrics = optarg;
        } else if (c == 'P' && !init) {
            web->proxy = optarg;
        } else if (c == 'v') {
            /* -v after the command as before it: the usage line shows it
               before, people type it after (`run -v`) */
            *verbose = 1;
        } else if (c == 'h') {
            return s_command_help(command);
        } else {
            dn_log_error(
                _("unknown option or missing value: '%s' (see: dealernet-server %s "
                  "--help)"),
                optind > 0 && optind <= argc ? argv[optind - 1] : "?", command);
            return EX_USAGE;
        }
    }
    if (optind < argc) {
        dn_log_error(_("unexpected argument '%s' (see: dealernet-server %s --help)"),
                     argv[optind], command);
        return EX_USAGE;
    }
    return s_web_check(web);
}

static int s_web_check(const s_web_opts_t *web)
{
    struct sockaddr_storage addr;
    socklen_t len;
    if (web->web && strcmp(web->web, "off") != 0 &&
        dn_web_address_parse(web->web, &addr, &len) != 0) {
        dn_log_error(_("--web '%s' is not an address HOST:PORT (like 127.0.0.1:7702, "
                       "[::1]:7702 or 0.0.0.0:8080) nor off"),
                     web->web);
        return EX_USAGE;
    }
    if (web->metrics && dn_web_address_parse(web->metrics, &addr, &len) != 0) {
        dn_log_error(_("--metrics '%s' is not an address HOST:PORT (like 127.0.0.1:9100)"),
                     web->metrics);
        return EX_USAGE;
    }
    struct in6_addr proxy;
    if (web->proxy && dn_web_proxy_parse(web->proxy, &proxy) != 0) {
        dn_log_error(_("--web-proxy '%s' is not a numeric IPv4 or IPv6 address (like "
                       "127.0.0.1 or ::1)"),
                     web->proxy);
        return EX_USAGE;
    }
    if (!web->cert != !web->key) {
        dn_log_error("%s", _("--web-cert and --web-key go together: give both for HTTPS, or "
                             "neither"));
        return EX_USAGE;
    }
    if (web->proxy && web->web && strcmp(web->web, "off") == 0) {
        dn_log_error("%s", _("--web-proxy is for the web page, which --web off turns off"));
        return EX_USAGE;
    }
    if (web->cert && web->web && strcmp(web->web, "off") == 0) {
        dn_log_error("%s", _("--web-cert and --web-key are for the web page, which --web off "
                             "turns off"));
        return EX_USAGE;
    }
    return -1;
}

int main(int argc, char **argv)
{
    const char *dir = getenv("DEALERNET_SERVER_DIR");
    const char *sync = NULL, *admin = NULL;
    static const struct option longs[] = {{"verbose", no_argument, NULL, 'v'},
                                          {"help", no_argument, NULL, 'h'},
                                          {"version", no_argument, NULL, 'V'},
                                          {NULL, 0, NULL, 0}};
    int c, rc, verbose = 0;

    dn_i18n_init();

    dn_log_init("dealernet-server", DN_LOG_INFO, 0);
    opterr = 0; /* one line on stderr: ours, not getopt's as well */
    while ((c = getopt_long(argc, argv, "+d:vhV", longs, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'v':
            verbose = 1;
            break;
        case 'h':
            s_help(stdout);
            return 0;
        case 'V':
            s_version();
            return 0;
        default:
            dn_log_error(_("unknown option or missing value: '%s' (see: dealernet-server "
                           "--help)"),
                         optind > 0 && optind <= argc ? argv[optind - 1] : "?");
            return EX_USAGE;
        }
    }
    if (!dir || !*dir)
        dir = "/var/lib/dealernet-server";
    if (optind >= argc) {
        dn_log_error(_("no command given (see: dealernet-server --help)"));
        return EX_USAGE;
    }
    /* `help` and `help COMMAND`, as the other two programs take them */
    if (strcmp(argv[optind], "help") == 0) {
        if (optind + 1 >= argc) {
            s_help(stdout);
            return 0;
        }
        return s_command_help(argv[optind + 1]);
    }
    if (strcmp(argv[optind], "init") == 0) {
        dn_server_network_t network = {NULL, 0, 0, NULL, NULL};
        char key[41];
        s_init_opts_t opts = {NULL, NULL, NULL, NULL};
        s_web_opts_t web = {NULL, NULL, NULL, NULL, NULL};
        rc = s_endpoints(argc - optind, argv + optind, &sync, &admin, &opts, &web, "init",
                         &verbose);
        if (rc >= 0)
            return rc;
        network.web = web.web;
        if (opts.max_sale && dn_money_bound_parse(opts.max_sale, &network.max_sale) != 0) {
            dn_log_error(_("--max-sale '%s' is not an amount from 0.0001 to 10000000000 "
                           "(currency units, at most 4 decimals, e.g. 1000000.00)"),
                         opts.max_sale);
            return EX_USAGE;
        }
        if (opts.country && dn_phone_country_parse(opts.country, &network.country) != 0) {
            dn_log_error(
                _("country '%s' is not a country calling code (1 to 3 digits, like "
                  "86) (see: dealernet-server --help)"),
                opts.country);
            return EX_USAGE;
        }
        network.currency = opts.currency;
        network.zone = opts.zone;
        /* refused before anything is made: the zone must be one this
           host's zone database holds (tzdata), or no day can be computed */
        if (opts.zone && dn_time_zone_check(opts.zone, NULL) != 0) {
            dn_log_error(_("--zone '%s' is not a time zone of the zone database %s (an IANA "
                           "name such as Asia/Shanghai, Europe/London or UTC)"),
                         opts.zone, getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo");
            return EX_USAGE;
        }
        if ((rc = dn_fsperm_folder(dir, DN_FSPERM_CREATE, s_files, DN_SERVER_FILES)) != 0)
            return dn_exit_code(rc);
        rc = dn_server_init(dir, sync ? sync : "tcp://*:7700", admin ? admin : "tcp://*:7701",
                            &network, key);
        if (rc == DN_ECURRENCY) {
            dn_log_error(_("--currency '%s' is not an ISO 4217 code such as CNY"),
                         opts.currency);
            return dn_exit_code(rc);
        }
        if (rc == DN_ENOENT) { /* the currency's default zone, without tzdata */
            dn_log_error(_("the time zone %s is not in the zone database %s: install tzdata, "
                           "or give --zone UTC"),
                         dn_time_zone_default(opts.currency ? opts.currency : DN_CURRENCY_DEFAULT),
                         getenv("TZDIR") ? getenv("TZDIR") : "/usr/share/zoneinfo");
            return EX_UNAVAILABLE;
        }
        if (rc == DN_EEXIST) {
            dn_log_error(_("%s already holds a server; refusing to overwrite it"), dir);
            return dn_exit_code(rc);
        }
        if (rc) {
            dn_log_error(_("cannot initialise %s: %s"), dir, dn_strerror(rc));
            return dn_exit_code(rc);
        }
        /* the key's line stays as it is in every language: scripts read
           the key from it (deploy/demo.sh, tests/lib/net.sh) */
        printf(_("initialised %s\n"), dir);
        /* i18n: not for people: scripts read the key from this line */
        printf("server public key: %s\n", key);
        printf(_("HQ admin key:      %s/%s (for dealernet-hq --key)\n"), dir,
               DN_HQ_KEY_FILE);
        printf(_("phones:            +%d for numbers without a country code\n"),
               network.country ? network.country : DN_PHONES_DEFAULT_COUNTRY);
        printf(_("time zone:         %s (days and months begin at its midnight)\n"),
               opts.zone ? opts.zone
                         : dn_time_zone_default(opts.currency ? opts.currency
                                                              : DN_CURRENCY_DEFAULT));
        return 0;
    }
    if (strcmp(argv[optind], "run") == 0) {
        struct sigaction sa;
        dn_server_config_t config = {dir, NULL, NULL, &s_stop, NULL, NULL, NULL, NULL, NULL, NULL};
        s_web_opts_t web = {NULL, NULL, NULL, NULL, NULL};
        rc = s_endpoints(argc - optind, argv + optind, &sync, &admin, NULL, &web, "run",
                         &verbose);
        if (rc >= 0)
            return rc;
        config.web = web.web;
        config.web_cert = web.cert;
        config.web_key = web.key;
        config.metrics = web.metrics;
        config.web_proxy = web.proxy;
        /* the daemon logs in English and answers HQ in HQ's language */
        dn_i18n_daemon();
        config.sync_endpoint = sync;
        config.admin_endpoint = admin;
        if ((rc = dn_fsperm_folder(dir, 0, s_files, DN_SERVER_FILES)) != 0)
            return dn_exit_code(rc);
        dn_log_init("dealernet-server", verbose ? DN_LOG_DEBUG : DN_LOG_INFO, 1);
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = s_on_signal; /* no SA_RESTART: interrupt zmq_poll */
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
        /* Frames from peers (up to 320 KiB, many at once from strangers
           the door then closes) are mapped and unmapped on their own: a
           fixed threshold keeps glibc from raising it after the first
           free and keeping that memory in the heap for good.  */
        mallopt(M_MMAP_THRESHOLD, DN_SERVER_MMAP_THRESHOLD);
#endif
        rc = dn_server_run(&config);
        return rc ? dn_exit_code(rc == DN_EIO ? DN_EAGAIN : rc) : 0;
    }
    dn_log_error(_("unknown command '%s' (see: dealernet-server --help)"), argv[optind]);
    return EX_USAGE;
}
