// One HTTP POST with libcurl's easy interface (permdrift notify → Alertmanager). In C because
// curl_easy_setopt is variadic, which Swift cannot call.
#define _GNU_SOURCE
#include "CPermDrift.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

struct pd_http_sink {
    char *buffer;
    size_t capacity;
    size_t length;
};

/* Keeps the first `capacity` bytes of the answer's body and reads the rest. */
static size_t pd_http_write(char *data, size_t size, size_t count, void *user) {
    struct pd_http_sink *sink = user;
    size_t total = size * count;
    size_t room = sink->capacity - sink->length;
    size_t take = total < room ? total : room;
    if (take > 0) {
        memcpy(sink->buffer + sink->length, data, take);
        sink->length += take;
    }
    return total;
}

static pthread_once_t pd_http_once = PTHREAD_ONCE_INIT;
static CURLcode pd_http_global = CURLE_OK;
static void pd_http_init(void) { pd_http_global = curl_global_init(CURL_GLOBAL_DEFAULT); }

int pd_http_post(const char *url, const char *const *headers, size_t header_count,
                 const void *body, size_t body_length, long timeout_ms,
                 long *status, char *response, size_t response_capacity, size_t *response_length,
                 char *error, size_t error_capacity) {
    *status = 0;
    *response_length = 0;
    if (error_capacity > 0) error[0] = 0;
    pthread_once(&pd_http_once, pd_http_init);
    if (pd_http_global != CURLE_OK) {
        snprintf(error, error_capacity, "libcurl did not initialise: %s", curl_easy_strerror(pd_http_global));
        return (int)pd_http_global;
    }
    CURL *curl = curl_easy_init();
    if (curl == NULL) {
        snprintf(error, error_capacity, "libcurl could not start a transfer");
        return (int)CURLE_FAILED_INIT;
    }
    char message[CURL_ERROR_SIZE];
    message[0] = 0;
    struct curl_slist *list = NULL;
    int failed = 0;
    for (size_t i = 0; i < header_count && !failed; i++) {
        struct curl_slist *next = curl_slist_append(list, headers[i]);
        if (next == NULL) failed = 1; else list = next;
    }
    // No "Expect: 100-continue" round trip before the body.
    struct curl_slist *next = failed ? NULL : curl_slist_append(list, "Expect:");
    if (next == NULL) {
        curl_slist_free_all(list);
        curl_easy_cleanup(curl);
        snprintf(error, error_capacity, "out of memory building the request");
        return (int)CURLE_OUT_OF_MEMORY;
    }
    list = next;
    struct pd_http_sink sink = { response, response_capacity, 0 };
    CURLcode r = CURLE_OK;
#define PD_SET(option, value) if (r == CURLE_OK) r = curl_easy_setopt(curl, option, value)
    PD_SET(CURLOPT_URL, url);
    PD_SET(CURLOPT_PROTOCOLS_STR, "http,https");
    PD_SET(CURLOPT_NOSIGNAL, 1L);             // no SIGALRM for timeouts: this process's signals are its own
    PD_SET(CURLOPT_FOLLOWLOCATION, 0L);       // a redirect is an answer, reported as such
    PD_SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    PD_SET(CURLOPT_SSL_VERIFYPEER, 1L);
    PD_SET(CURLOPT_SSL_VERIFYHOST, 2L);
    PD_SET(CURLOPT_POST, 1L);
    PD_SET(CURLOPT_POSTFIELDS, body);
    PD_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_length);
    PD_SET(CURLOPT_HTTPHEADER, list);
    PD_SET(CURLOPT_TIMEOUT_MS, timeout_ms);
    PD_SET(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    PD_SET(CURLOPT_WRITEFUNCTION, pd_http_write);
    PD_SET(CURLOPT_WRITEDATA, &sink);
    PD_SET(CURLOPT_ERRORBUFFER, message);
#undef PD_SET
    if (r == CURLE_OK) r = curl_easy_perform(curl);
    if (r == CURLE_OK) {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
        *response_length = sink.length;
    } else {
        snprintf(error, error_capacity, "%s", message[0] ? message : curl_easy_strerror(r));
    }
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return (int)r;
}
