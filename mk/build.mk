# mk/build.mk - compile rules; called by the top-level Makefile once the Debian packages
# are known to be installed (so pkg-config can answer).
#   make -f mk/build.mk BUILD=build           normal build
#   make -f mk/build.mk BUILD=build-san SAN=1 ASan + UBSan build (used by the tests)
#   make -f mk/build.mk BUILD=build-fuzz FUZZ=1 fuzz
#                                             libFuzzer harnesses of tests/fuzz/ (clang,
#                                             ASan + UBSan, coverage of the whole code)

BUILD   ?= build
SAN     ?= 0
FUZZ    ?= 0
VERSION := $(shell cat VERSION)
DAEMONS := pcscf icscf scscf hss bgcf mrfc mgcf ocs mrb ibcf
PKGS    := sofia-sip-ua libmicrohttpd jansson sqlite3 libcrypto gnutls

CC      ?= gcc
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   := $(shell pkg-config --libs $(PKGS))

CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -Wshadow -Wformat=2 \
           -Wno-format-nonliteral -Wno-format-truncation -fno-strict-aliasing -D_GNU_SOURCE \
           -DIMS_VERSION=\"$(VERSION)\" -Icommon $(PKG_CFLAGS)
LDLIBS  := -lfdcore -lfdproto $(PKG_LIBS) -lpthread -lm
ifeq ($(SAN),1)
CFLAGS  += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(FUZZ),1)
CC      := clang
CFLAGS  := $(filter-out -Wno-format-truncation,$(CFLAGS)) -Wno-missing-field-initializers
CFLAGS  += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=fuzzer,address,undefined
endif
CHECK_LIBS := $(shell pkg-config --libs check)
# libraries of one daemon only: <daemon>_LIBS (the MRF's media: G.711, tones, DTMF, WAV)
MEDIA_LIBS := $(shell pkg-config --libs spandsp sndfile)
mrfc_LIBS  := $(MEDIA_LIBS) $(shell pkg-config --libs libssl)
# the P-CSCF's IPsec SAs: netlink XFRM with libmnl
pcscf_LIBS := $(shell pkg-config --libs libmnl)

COMMON_SRC := $(wildcard common/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o)
LIBCOMMON  := $(BUILD)/libimscommon.a

BINS := $(DAEMONS:%=$(BUILD)/bin/%)
TOOLS_SRC := $(wildcard tests/tools/*.c)
TOOLS := $(TOOLS_SRC:tests/tools/%.c=$(BUILD)/bin/%)

# unit tests: common/tests/check_<area>.c and <daemon>/tests/check_<module>.c
COMMON_TESTS := $(patsubst common/tests/%.c,$(BUILD)/tests/%,$(wildcard common/tests/check_*.c))
DAEMON_TESTS := $(foreach d,$(DAEMONS),$(patsubst $(d)/tests/%.c,$(BUILD)/tests/$(d)_%,$(wildcard $(d)/tests/check_*.c)))
TESTS := $(COMMON_TESTS) $(DAEMON_TESTS)

# the MRF's lab announcements, spoken at build time (mrfc/prompts/)
PROMPTS := $(BUILD)/prompts/.made

# fuzz harnesses: tests/fuzz/<name>.c; a name starting with "<daemon>_" links that daemon's
# objects (all but main.o); FUZZ_LDFLAGS_<name> adds link options (e.g. -Wl,--wrap=...)
FUZZ_SRC  := $(wildcard tests/fuzz/*.c)
FUZZ_BINS := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
FUZZ_LDFLAGS_hss_api  := -Wl,--wrap=ims_http_route
FUZZ_LDFLAGS_ocs_api  := -Wl,--wrap=ims_http_route
FUZZ_LDFLAGS_bgcf_api := -Wl,--wrap=ims_http_route
FUZZ_LDFLAGS_mrb_query := -Wl,--wrap=ims_http_route
FUZZ_LDFLAGS_mgcf_api := -Wl,--wrap=ims_http_route
FUZZ_LDFLAGS_mrfc_pkg := -Wl,--wrap=mrfc_cfw_event,--wrap=mrfc_cfw_chan_id,--wrap=mrfc_media_play \
    -Wl,--wrap=mrfc_media_collect,--wrap=mrfc_media_record,--wrap=mrfc_media_stop \
    -Wl,--wrap=mrfc_media_mixer_create,--wrap=mrfc_media_mixer_destroy \
    -Wl,--wrap=mrfc_media_join,--wrap=mrfc_media_unjoin
FUZZ_LDFLAGS_hss_diam := -Wl,--wrap=ims_diam_send
FUZZ_LDFLAGS_ocs_diam := -Wl,--wrap=ims_diam_send
FUZZ_LDFLAGS_scscf_cx := -Wl,--wrap=ims_diam_send

# preloaded into OpenSSL programs of the tests: their TLS session keys for tshark
KEYLOG_SO := $(BUILD)/lib/sslkeylog.so

.PHONY: all tests fuzz
all: $(LIBCOMMON) $(BINS) $(TOOLS) $(PROMPTS) $(KEYLOG_SO)
tests: $(TESTS)
fuzz: $(FUZZ_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBCOMMON): $(COMMON_OBJ)
	@rm -f $@
	ar rcs $@ $^

# one binary per daemon from <daemon>/*.c
define daemon_rules
$(1)_OBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(wildcard $(1)/*.c))
$(1)_LIB_OBJ := $$(filter-out $(BUILD)/$(1)/main.o,$$($(1)_OBJ))
$(BUILD)/bin/$(1): $$($(1)_OBJ) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$($(1)_LIBS) $$(LDLIBS)
$(BUILD)/tests/$(1)_%: $(1)/tests/%.c $$($(1)_LIB_OBJ) $(LIBCOMMON)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -I$(1) $$(LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$($(1)_LIBS) $$(LDLIBS)
endef
$(foreach d,$(DAEMONS),$(eval $(call daemon_rules,$(d))))

$(KEYLOG_SO): tests/lib/sslkeylog.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -fsanitize=%,$(CFLAGS)) -fPIC -shared -o $@ $< \
	    $(shell pkg-config --libs libssl) -ldl

# libraries only some tools need
TOOL_LIBS_cerprobe := $(shell pkg-config --libs libssl)

# the RTP test UA and load generator use the MRF's RTP, SDP and G.711 code
RTPUE_OBJ := $(BUILD)/mrfc/rtp.o $(BUILD)/mrfc/sdp.o
$(BUILD)/bin/rtpue: tests/tools/rtpue.c $(RTPUE_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Imrfc $(LDFLAGS) -o $@ $^ $(MEDIA_LIBS) $(LDLIBS)
$(BUILD)/bin/rtpload: tests/tools/rtpload.c $(RTPUE_OBJ) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Imrfc $(LDFLAGS) -o $@ $^ $(MEDIA_LIBS) $(LDLIBS)

# the test AS of the Cr control channel uses the MRF's CFW codec and SDP
$(BUILD)/bin/cfwas: tests/tools/cfwas.c $(BUILD)/mrfc/cfw_msg.o $(BUILD)/mrfc/sdp.o $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Imrfc $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libssl) $(LDLIBS)

$(PROMPTS): mrfc/prompts/prompts.txt mrfc/prompts/make-prompts.sh $(BUILD)/bin/rtpue
	mrfc/prompts/make-prompts.sh mrfc/prompts/prompts.txt $(BUILD)/prompts $(BUILD)/bin/rtpue
	@touch $@

.SECONDEXPANSION:
$(BUILD)/fuzz/%: tests/fuzz/%.c $(wildcard tests/fuzz/*.h) $(LIBCOMMON) \
                 $$($$(word 1,$$(subst _, ,$$*))_LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/fuzz $(addprefix -I,$(filter $(DAEMONS),$(subst _, ,$*))) \
	    $(LDFLAGS) $(FUZZ_LDFLAGS_$*) -o $@ $< $(filter %.o,$^) $(LIBCOMMON) \
	    $($(word 1,$(subst _, ,$*))_LIBS) $(LDLIBS)

$(BUILD)/bin/%: tests/tools/%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.o,$^) $(LIBCOMMON) $(TOOL_LIBS_$*) $(LDLIBS)

# the attacker's SIP over TLS (tests/e2e/test_mw_tls.sh)
TOOL_LIBS_sipsend := -lssl

# the ESP test installs SAs with the P-CSCF's own XFRM code
$(BUILD)/bin/xfrm: $(pcscf_LIB_OBJ)
$(BUILD)/bin/xfrm: private CFLAGS += -Ipcscf
TOOL_LIBS_xfrm := $(pcscf_LIBS)

# test peers that speak the MGCF's protocols (ISUP, M3UA, H.248) use its codecs
MGCF_TOOLS := $(filter $(BUILD)/bin/pstn $(BUILD)/bin/mgw $(BUILD)/bin/mgcf_%,$(TOOLS))
$(MGCF_TOOLS): $(mgcf_LIB_OBJ)
$(MGCF_TOOLS): private CFLAGS += -Imgcf

$(BUILD)/tests/check_%: common/tests/check_%.c $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LDLIBS)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
