/*  test_web -- unit tests for the web page's pure rules (dn_web) and its
    users (dn_webuser).

    dn_web: the addresses the page binds to (HOST:PORT, numeric hosts
    only; the default beside the admin port), whom a request counts as
    from (a trusted proxy's X-Real-IP, believed from the proxy alone,
    strictly one numeric address), the language a request
    reads (Accept-Language, weights and order), and the CSRF tokens
    (HMAC of a purpose and what the form is bound to, compared in
    constant time; nothing bound, nothing accepted).  dn_webuser: the
    weak passwords refused with their reasons, scrypt hashes (salted:
    one password, two hashes; a damaged hash refused, not trusted), and
    the table: add, a name taken, login (a wrong password and an unknown
    name alike), removal that ends logins, adding again.  Every table
    holds accepted and refused entries, so a rule that says yes (or no) to
    everything fails.
*/
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <netinet/in.h>

#include "dn_error.h"
#include "dn_test_central.h"
#include "dn_valid.h"
#include "dn_web.h"
#include "dn_webuser.h"

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* -- addresses ------------------------------------------------------------- */

static void test_address_parse(void **state)
{
    static const struct {
        const char *text;
        int rc;
        int family;
        int port;
    } cases[] = {
        {"127.0.0.1:7702", 0, AF_INET, 7702},
        {"0.0.0.0:8080", 0, AF_INET, 8080},
        {"10.1.2.3:1", 0, AF_INET, 1},
        {"127.0.0.1:65535", 0, AF_INET, 65535},
        {"[::1]:7702", 0, AF_INET6, 7702},
        {"[::]:443", 0, AF_INET6, 443},
        {"localhost:80", DN_EINVAL, 0, 0},     /* a name: never resolved */
        {"127.0.0.1", DN_EINVAL, 0, 0},        /* no port */
        {"127.0.0.1:0", DN_EINVAL, 0, 0},
        {"127.0.0.1:65536", DN_EINVAL, 0, 0},
        {"127.0.0.1:80x", DN_EINVAL, 0, 0},
        {"127.0.0.1:-1", DN_EINVAL, 0, 0},
        {"127.0.0.1: 80", DN_EINVAL, 0, 0},
        {"::1:7702", DN_EINVAL, 0, 0},         /* IPv6 without brackets */
        {"[::1]7702", DN_EINVAL, 0, 0},
        {"[127.0.0.1]:80", DN_EINVAL, 0, 0},   /* brackets hold IPv6 */
        {"256.0.0.1:80", DN_EINVAL, 0, 0},
        {"", DN_EINVAL, 0, 0},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        struct sockaddr_storage sa;
        socklen_t len = 0;
        int rc = dn_web_address_parse(cases[i].text, &sa, &len);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, expected %d", cases[i].text, rc, cases[i].rc);
        if (rc)
            continue;
        assert_int_equal(sa.ss_family, cases[i].family);
        if (cases[i].family == AF_INET) {
            assert_int_equal(len, sizeof(struct sockaddr_in));
            assert_int_equal(ntohs(((struct sockaddr_in *)&sa)->sin_port), cases[i].port);
        } else {
            assert_int_equal(len, sizeof(struct sockaddr_in6));
            assert_int_equal(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), cases[i].port);
        }
    }
    assert_int_equal(dn_web_address_parse(NULL, &(struct sockaddr_storage){0},
                                           &(socklen_t){0}),
                     DN_EINVAL);
}

static void test_default_address(void **state)
{
    static const struct {
        const char *admin;
        int rc;
        const char *web;
    } cases[] = {
        {"tcp://*:7701", 0, "127.0.0.1:7702"},
        {"tcp://127.0.0.1:20001", 0, "127.0.0.1:20002"},
        {"tcp://[::1]:9", 0, "127.0.0.1:10"},
        {"tcp://0.0.0.0:65534", 0, "127.0.0.1:65535"},
        {"tcp://*:65535", DN_EINVAL, ""}, /* no port after it */
        {"ipc:///run/dealernet/admin", DN_EINVAL, ""},
        {"tcp://*:", DN_EINVAL, ""},
        {"tcp://*:77x", DN_EINVAL, ""},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        char out[DN_WEB_ADDRESS_SIZE] = "";
        int rc = dn_web_default_address(cases[i].admin, out, sizeof out);
        if (rc != cases[i].rc)
            fail_msg("'%s': rc %d, expected %d", cases[i].admin, rc, cases[i].rc);
        if (rc == 0)
            assert_string_equal(out, cases[i].web);
    }
}

/* -- language -------------------------------------------------------------- */

/*  The login throttle's key of one address (dn_web_login_key).  */
static const char *s_key_of(const char *text, char out[DN_WEB_ADDRESS_SIZE])
{
    struct sockaddr_storage sa;
    socklen_t len;
    assert_int_equal(dn_web_address_parse(text, &sa, &len), 0);
    dn_web_login_key((struct sockaddr *)&sa, out);
    return out;
}

static void test_login_key(void **state)
{
    char key[DN_WEB_ADDRESS_SIZE];
    (void)state;
    assert_string_equal(s_key_of("198.51.100.7:1", key), "198.51.100.7");
    /* IPv6: the /64, whatever the host's 64 bits */
    assert_string_equal(s_key_of("[2001:db8:1:2:aaaa:bbbb:cccc:dddd]:1", key),
                        "2001:db8:1:2::/64");
    assert_string_equal(s_key_of("[2001:db8:1:2::1]:1", key), "2001:db8:1:2::/64");
    assert_string_equal(s_key_of("[2001:db8:1:3::1]:1", key), "2001:db8:1:3::/64");
    assert_string_equal(s_key_of("[::1]:1", key), "::/64");
    /* an IPv4 client of an IPv6 socket is its IPv4 address, not ::ffff:0:0/64
       (which would count every IPv4 client as one) */
    assert_string_equal(s_key_of("[::ffff:198.51.100.7]:1", key), "198.51.100.7");
    assert_string_equal(s_key_of("[::ffff:203.0.113.9]:1", key), "203.0.113.9");
    dn_web_login_key(NULL, key);
    assert_string_equal(key, "unknown");
}

/*  A TCP peer "HOST:PORT" (dn_web_address_parse's form) as a sockaddr.  */
static const struct sockaddr *s_peer(const char *text, struct sockaddr_storage *sa)
{
    socklen_t len;
    assert_int_equal(dn_web_address_parse(text, sa, &len), 0);
    return (const struct sockaddr *)sa;
}

static void test_proxy_parse(void **state)
{
    static const struct {
        const char *text;
        int rc;
    } cases[] = {
        {"127.0.0.1", 0},
        {"::1", 0},
        {"10.0.0.5", 0},
        {"2001:db8::7", 0},
        {"::ffff:127.0.0.1", 0},
        {"localhost", DN_EINVAL},      /* a name: never resolved */
        {"127.0.0.1:7702", DN_EINVAL}, /* no port */
        {"[::1]", DN_EINVAL},          /* no brackets */
        {"127.1", DN_EINVAL},          /* inet_aton's shorthand: not inet_pton's */
        {"127.0.0.01", DN_EINVAL},
        {"127.0.0.1 ", DN_EINVAL},
        {"fe80::1%eth0", DN_EINVAL},
        {"", DN_EINVAL},
    };
    struct in6_addr a;
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        int rc = dn_web_proxy_parse(cases[i].text, &a);
        if (rc != cases[i].rc)
            fail_msg("'%s': %d, not %d", cases[i].text, rc, cases[i].rc);
    }
    assert_int_equal(dn_web_proxy_parse(NULL, &a), DN_EINVAL);
    /* 127.0.0.1 is kept as ::ffff:127.0.0.1, which it is on an IPv6 socket */
    struct in6_addr mapped;
    assert_int_equal(dn_web_proxy_parse("127.0.0.1", &a), 0);
    assert_int_equal(dn_web_proxy_parse("::ffff:127.0.0.1", &mapped), 0);
    assert_memory_equal(&a, &mapped, sizeof a);
}

/*  dn_web_client's choice, as the login key it leads to.  */
static int s_client_key(const char *peer, const char *proxy, const char *real_ip,
                        char key[DN_WEB_ADDRESS_SIZE])
{
    struct sockaddr_storage sa, out;
    struct in6_addr p;
    if (proxy)
        assert_int_equal(dn_web_proxy_parse(proxy, &p), 0);
    int rc = dn_web_client(peer ? s_peer(peer, &sa) : NULL, proxy ? &p : NULL, real_ip, &out);
    dn_web_login_key((const struct sockaddr *)&out, key);
    return rc;
}

static void test_client(void **state)
{
    static const struct {
        const char *peer;    /* the TCP peer */
        const char *proxy;   /* --web-proxy; NULL: none */
        const char *real_ip; /* X-Real-IP; NULL: none */
        int rc;
        const char *key;     /* counted against */
    } cases[] = {
        /* no proxy trusted: the header is never believed */
        {"127.0.0.1:5000", NULL, "203.0.113.7", 0, "127.0.0.1"},
        {"198.51.100.7:5000", NULL, NULL, 0, "198.51.100.7"},
        /* from the proxy: the header's address */
        {"127.0.0.1:5000", "127.0.0.1", "203.0.113.7", 1, "203.0.113.7"},
        {"127.0.0.1:5000", "127.0.0.1", "203.0.113.8", 1, "203.0.113.8"},
        {"127.0.0.1:5000", "127.0.0.1", "2001:db8:1:2::9", 1, "2001:db8:1:2::/64"},
        {"127.0.0.1:5000", "127.0.0.1", "::ffff:203.0.113.7", 1, "203.0.113.7"},
        {"[::1]:5000", "::1", "203.0.113.7", 1, "203.0.113.7"},
        /* the proxy's IPv4 connection to an IPv6 socket ([::]) */
        {"[::ffff:127.0.0.1]:5000", "127.0.0.1", "203.0.113.7", 1, "203.0.113.7"},
        /* not from the proxy: a stranger cannot choose its address */
        {"198.51.100.7:5000", "127.0.0.1", "203.0.113.7", 0, "198.51.100.7"},
        {"127.0.0.2:5000", "127.0.0.1", "203.0.113.7", 0, "127.0.0.2"},
        {"[::1]:5000", "127.0.0.1", "203.0.113.7", 0, "::/64"},
        {"127.0.0.1:5000", "::1", "203.0.113.7", 0, "127.0.0.1"},
        /* from the proxy, the header missing or not one numeric address:
           the proxy's own, and the caller logs it */
        {"127.0.0.1:5000", "127.0.0.1", NULL, DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "unknown", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "203.0.113.7, 10.0.0.1", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "203.0.113.7:4431", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "[2001:db8::1]", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", " 203.0.113.7", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "203.0.113", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "hq.example.com", DN_EINVAL, "127.0.0.1"},
        {"127.0.0.1:5000", "127.0.0.1", "fe80::1%eth0", DN_EINVAL, "127.0.0.1"},
    };
    char key[DN_WEB_ADDRESS_SIZE];
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        int rc = s_client_key(cases[i].peer, cases[i].proxy, cases[i].real_ip, key);
        if (rc != cases[i].rc || strcmp(key, cases[i].key) != 0)
            fail_msg("peer %s, proxy %s, X-Real-IP '%s': %d %s, not %d %s", cases[i].peer,
                     cases[i].proxy ? cases[i].proxy : "none",
                     cases[i].real_ip ? cases[i].real_ip : "(none)", rc, key, cases[i].rc,
                     cases[i].key);
    }
    /* no peer: unknown, with or without a proxy */
    assert_int_equal(s_client_key(NULL, "127.0.0.1", "203.0.113.7", key), 0);
    assert_string_equal(key, "unknown");
}

static void test_lang(void **state)
{
    static const struct {
        const char *header;
        const char *lang;
    } cases[] = {
        {NULL, "en"},
        {"", "en"},
        {"zh-CN,zh;q=0.9,en;q=0.8", "zh_CN"},    /* a Chinese browser */
        {"en-US,en;q=0.9,zh-CN;q=0.8", "en"},    /* an English one with Chinese after */
        {"fr-FR, zh;q=0.5", "zh_CN"},            /* French is not served: next */
        {"fr-FR,de", "en"},                      /* nothing served: English */
        {"zh;q=0, en;q=0.1", "en"},              /* q=0: not acceptable */
        {"en;q=0.5, zh-TW;q=0.6", "zh_CN"},      /* by weight, not order */
        {"en;q=0.6, zh;q=0.6", "en"},            /* equal weights: the first */
        {"ZH-Hans", "zh_CN"},
        {"zh_CN", "zh_CN"},
        {"zhx, en", "en"},                       /* "zhx" is not zh */
        {"enx;q=1, zh;q=0.2", "zh_CN"},
        {"*", "en"},
        {"zh;q=1.000", "zh_CN"},
    };
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++)
        if (strcmp(dn_web_lang(cases[i].header), cases[i].lang) != 0)
            fail_msg("'%s': %s, expected %s", cases[i].header ? cases[i].header : "(null)",
                     dn_web_lang(cases[i].header), cases[i].lang);
}

/* -- CSRF ------------------------------------------------------------------ */

static void test_csrf(void **state)
{
    uint8_t key[32], other_key[32];
    char token[DN_WEB_TOKEN_SIZE], again[DN_WEB_TOKEN_SIZE], other[DN_WEB_TOKEN_SIZE];
    const char *cookie = "5ec655f9f744f24fac7f746b6f7cbdc1ff0c213c941eee0fe32027e30afcaa9d";
    (void)state;
    memset(key, 7, sizeof key);
    memset(other_key, 8, sizeof other_key);

    dn_web_csrf(key, "login", cookie, token);
    assert_int_equal(strlen(token), 64);
    assert_int_equal(strspn(token, "0123456789abcdef"), 64);
    dn_web_csrf(key, "login", cookie, again);
    assert_string_equal(token, again); /* the form and its check agree */
    dn_web_csrf(key, "session", cookie, other);
    assert_string_not_equal(token, other); /* a login token is no logout token */
    dn_web_csrf(key, "login", "5ec655f9f744f24fac7f746b6f7cbdc1ff0c213c941eee0fe32027e30afcaa9e",
                other);
    assert_string_not_equal(token, other);
    dn_web_csrf(other_key, "login", cookie, other);
    assert_string_not_equal(token, other); /* another process's key */

    assert_int_equal(dn_web_csrf_check(key, "login", cookie, token), 1);
    assert_int_equal(dn_web_csrf_check(key, "session", cookie, token), 0);
    assert_int_equal(dn_web_csrf_check(other_key, "login", cookie, token), 0);
    assert_int_equal(dn_web_csrf_check(key, "login", cookie, NULL), 0);
    assert_int_equal(dn_web_csrf_check(key, "login", cookie, ""), 0);
    strcpy(other, token);
    other[63] = other[63] == '0' ? '1' : '0';
    assert_int_equal(dn_web_csrf_check(key, "login", cookie, other), 0);
    other[63] = token[63];
    other[63] = '\0';
    assert_int_equal(dn_web_csrf_check(key, "login", cookie, other), 0); /* 63 digits */
    for (size_t i = 0; i < 64; i++)
        other[i] = (char)(token[i] >= 'a' ? token[i] - 32 : token[i]);
    other[64] = '\0';
    if (strcmp(other, token) != 0) /* upper case is another text */
        assert_int_equal(dn_web_csrf_check(key, "login", cookie, other), 0);
    /* nothing bound (no cookie, no session): no token passes */
    dn_web_csrf(key, "login", "", other);
    assert_int_equal(dn_web_csrf_check(key, "login", "", other), 0);
    assert_int_equal(dn_web_csrf_check(key, "login", NULL, other), 0);
}

/* -- passwords and hashes ----------------------------------------------------- */

static void test_password_check(void **state)
{
    static const struct {
        const char *name;
        const char *password;
        const char *why; /* NULL: accepted */
    } cases[] = {
        {"alice", "Tea-Leaf-Harbour-42", NULL},
        {"alice", "东北大米香又甜四季如春", NULL}, /* 11 characters, 33 bytes */
        {"bob", "zq7!Lm2#Px", NULL},             /* exactly 10 */
        {"bob", "zq7!Lm2#P", "the password has 9 characters: give at least 10"},
        {"bob", "东北大米香又甜四季", "the password has 9 characters: give at least 10"},
        {"bob", "", "the password has 0 characters: give at least 10"},
        {"alice", "my-Alice-2026!", "the password holds the user name alice"},
        {"bob", "aaaaaaaaaaaa", "the password uses only 1 different characters: mix in more"},
        {"bob", "abababab1212", "the password uses only 4 different characters: mix in more"},
        {"bob", "1234567890", "the password is a run of the keyboard or of the alphabet "
                              "(like 1234567890 or qwertyuiop)"},
        {"bob", "QWERTYUIOP", "the password is a run of the keyboard or of the alphabet "
                              "(like 1234567890 or qwertyuiop)"},
        {"bob", "zyxwvutsrqpo", "the password is a run of the keyboard or of the alphabet "
                                "(like 1234567890 or qwertyuiop)"},
        {"bob", "Password2026", "the password holds 'password', which every guesser tries first"},
        {"bob", "x9-letmein-x9", "the password holds 'letmein', which every guesser tries first"},
        {"bob", "line one\tand", "the password is not one line of text (it holds a line "
                                 "break, a tab or another control character)"},
    };
    char why[256];
    (void)state;
    for (size_t i = 0; i < N_OF(cases); i++) {
        why[0] = '\0';
        int rc = dn_webuser_password_check(cases[i].name, cases[i].password, why, sizeof why);
        if (!cases[i].why && rc != 0)
            fail_msg("'%s' refused: %s", cases[i].password, why);
        if (cases[i].why) {
            assert_int_equal(rc, DN_EINVAL);
            assert_string_equal(why, cases[i].why);
        }
    }
    char long_one[DN_WEBUSER_MAX_PASSWORD_BYTES + 2];
    for (size_t i = 0; i < sizeof long_one - 1; i++)
        long_one[i] = (char)('a' + (i * 7) % 26);
    long_one[sizeof long_one - 1] = '\0';
    assert_int_equal(dn_webuser_password_check("bob", long_one, why, sizeof why), DN_EINVAL);
    assert_string_equal(why, "the password is longer than 1024 bytes");
}

static void test_hash(void **state)
{
    char one[DN_WEBUSER_HASH_SIZE], two[DN_WEBUSER_HASH_SIZE], bad[DN_WEBUSER_HASH_SIZE];
    (void)state;
    assert_int_equal(dn_webuser_hash("Tea-Leaf-Harbour-42", one), 0);
    assert_int_equal(dn_webuser_hash("Tea-Leaf-Harbour-42", two), 0);
    /* "scrypt:15:8:1:" 14 + 32 hex of salt + ':' + 64 hex of key */
    assert_int_equal(strlen(one), 14 + 32 + 1 + 64);
    assert_memory_equal(one, "scrypt:15:8:1:", 14);
    assert_string_not_equal(one, two); /* each its own salt */
    assert_int_equal(dn_webuser_hash_verify(one, "Tea-Leaf-Harbour-42"), 1);
    assert_int_equal(dn_webuser_hash_verify(two, "Tea-Leaf-Harbour-42"), 1);
    assert_int_equal(dn_webuser_hash_verify(one, "Tea-Leaf-Harbour-43"), 0);
    assert_int_equal(dn_webuser_hash_verify(one, ""), 0);
    /* a damaged row is refused, not believed nor run */
    snprintf(bad, sizeof bad, "scrypt:30:8:1:%s", one + 14); /* 2^30: 128 GiB */
    assert_int_equal(dn_webuser_hash_verify(bad, "Tea-Leaf-Harbour-42"), DN_EPARSE);
    snprintf(bad, sizeof bad, "scrypt:15:8:1:%.32s", one + 14); /* no key */
    assert_int_equal(dn_webuser_hash_verify(bad, "Tea-Leaf-Harbour-42"), DN_EPARSE);
    snprintf(bad, sizeof bad, "%sff", one); /* trailing bytes */
    assert_int_equal(dn_webuser_hash_verify(bad, "Tea-Leaf-Harbour-42"), DN_EPARSE);
    assert_int_equal(dn_webuser_hash_verify("bcrypt$2b$10$abc", "x"), DN_EPARSE);
}

/* -- the table -------------------------------------------------------------- */

#define S_NOW 1795000000000LL /* 2026-11-18T11:06:40.000Z */

static void test_users(void **state)
{
    dn_test_central_t *fx = *state;
    sqlite3 *db = fx->db;
    json_t *result = NULL;
    char why[256] = "";

    assert_int_equal(dn_webuser_add(db, "Alice", "Tea-Leaf-Harbour-42", S_NOW, &result, why,
                                     sizeof why),
                     0);
    assert_string_equal(json_string_value(json_object_get(result, "user")), "alice");
    assert_string_equal(json_string_value(json_object_get(result, "created")),
                        "2026-11-18T11:06:40.000Z");
    json_decref(result);
    assert_int_equal(dn_webuser_add(db, "alice", "Other-Harbour-77", S_NOW + 1, &result, why,
                                     sizeof why),
                     DN_EEXIST);
    assert_null(result);
    assert_string_equal(why, "web user alice exists already (to set a new password, remove it "
                             "and add it again)");
    assert_int_equal(dn_webuser_add(db, "2alice", "Tea-Leaf-Harbour-42", S_NOW, &result, why,
                                     sizeof why),
                     DN_CODE_ERROR);
    assert_int_equal(dn_webuser_add(db, "bob", "short", S_NOW, &result, why, sizeof why),
                     DN_EINVAL);
    assert_string_equal(why, "the password has 5 characters: give at least 10");

    /* logins: the password, in any case of the name; wrong and unknown alike */
    assert_int_equal(dn_webuser_login(db, "alice", "Tea-Leaf-Harbour-42", NULL), 0);
    assert_int_equal(dn_webuser_login(db, "ALICE", "Tea-Leaf-Harbour-42", NULL), 0);
    assert_int_equal(dn_webuser_login(db, "alice", "tea-leaf-harbour-42", NULL), DN_EPERM);
    assert_int_equal(dn_webuser_login(db, "carol", "Tea-Leaf-Harbour-42", NULL), DN_EPERM);
    assert_int_equal(dn_webuser_login(db, "<script>", "Tea-Leaf-Harbour-42", NULL), DN_EPERM);
    assert_int_equal(dn_webuser_active(db, "alice", NULL), 1);
    assert_int_equal(dn_webuser_active(db, "carol", NULL), 0);
    /* the login's stamp: the salt of the stored hash (32 hex), which its
       session keeps and checks at every request */
    char stamp[DN_WEBUSER_STAMP_SIZE], stamp2[DN_WEBUSER_STAMP_SIZE];
    assert_int_equal(dn_webuser_login(db, "alice", "Tea-Leaf-Harbour-42", stamp), 0);
    assert_int_equal(strlen(stamp), 32);
    assert_int_equal(dn_webuser_active(db, "alice", stamp), 1);
    assert_int_equal(dn_webuser_active(db, "alice", "00000000000000000000000000000000"), 0);

    /* removal ends logins; the row stays, with when */
    assert_int_equal(dn_webuser_remove(db, "Alice", S_NOW + 60000, &result, why, sizeof why), 0);
    assert_string_equal(json_string_value(json_object_get(result, "removed")),
                        "2026-11-18T11:07:40.000Z");
    json_decref(result);
    assert_int_equal(dn_webuser_active(db, "alice", NULL), 0);
    assert_int_equal(dn_webuser_login(db, "alice", "Tea-Leaf-Harbour-42", NULL), DN_EPERM);
    assert_int_equal(dn_webuser_remove(db, "alice", S_NOW + 1, &result, why, sizeof why),
                     DN_ENOENT);
    assert_string_equal(why, "no web user alice (see: web user list)");
    assert_int_equal(dn_webuser_list(db, &result), 0);
    assert_int_equal(json_array_size(result), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(result, 0), "removed")),
                        "2026-11-18T11:07:40.000Z");
    json_decref(result);

    /* added again: the new password, in again */
    assert_int_equal(dn_webuser_add(db, "alice", "Other-Harbour-77", S_NOW + 120000, &result,
                                     why, sizeof why),
                     0);
    json_decref(result);
    assert_int_equal(dn_webuser_login(db, "alice", "Tea-Leaf-Harbour-42", NULL), DN_EPERM);
    assert_int_equal(dn_webuser_login(db, "alice", "Other-Harbour-77", stamp2), 0);
    /* a session of the old password ends though the name may log in again
       (remove, add: the README's way to change a password) */
    assert_int_equal(dn_webuser_active(db, "alice", NULL), 1);
    assert_int_equal(dn_webuser_active(db, "alice", stamp), 0);
    assert_int_equal(dn_webuser_active(db, "alice", stamp2), 1);
    assert_string_not_equal(stamp, stamp2);
    assert_int_equal(dn_webuser_list(db, &result), 0);
    assert_int_equal(json_array_size(result), 1);
    assert_true(json_is_null(json_object_get(json_array_get(result, 0), "removed")));
    assert_string_equal(json_string_value(json_object_get(json_array_get(result, 0), "created")),
                        "2026-11-18T11:08:40.000Z");
    json_decref(result);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_address_parse),
        cmocka_unit_test(test_default_address),
        cmocka_unit_test(test_login_key),
        cmocka_unit_test(test_proxy_parse),
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_lang),
        cmocka_unit_test(test_csrf),
        cmocka_unit_test(test_password_check),
        cmocka_unit_test(test_hash),
        cmocka_unit_test_setup_teardown(test_users, dn_test_central_setup,
                                        dn_test_central_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
