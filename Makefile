# fqdnkit: two set-up commands (see README):
#   make run   - set up, build, load every reference program on this kernel, print verdicts
#   make test  - set up, build, run the whole test suite
SHELL := /bin/bash
CLANG ?= clang-19
VENV  := .venv
ARCH  := x86
BPF_CFLAGS := -target bpf -O2 -g -Wall -Wno-unused-function -D__TARGET_ARCH_$(ARCH) \
              -I reference_bpf/lib -I reference_bpf -I /usr/include/$(shell uname -m)-linux-gnu

# Loop techniques a technique variant is built in (reference_bpf/techniques/*.bpf.c is
# compiled once per technique with -DDNS_LOOP_TECHNIQUE=<T>).
TECHNIQUES := unroll bounded bpf_loop iter may_goto

PLAIN_SRCS := $(shell find reference_bpf -name '*.bpf.c' -not -path 'reference_bpf/techniques/*' 2>/dev/null)
TECH_SRCS  := $(wildcard reference_bpf/techniques/*.bpf.c)
BPF_HDRS   := $(shell find reference_bpf -name '*.h' 2>/dev/null)
PLAIN_OBJS := $(patsubst reference_bpf/%.bpf.c,build/%.bpf.o,$(PLAIN_SRCS))
TECH_OBJS  := $(foreach t,$(TECHNIQUES),$(patsubst reference_bpf/techniques/%.bpf.c,build/techniques/%.$(t).bpf.o,$(TECH_SRCS)))

.PHONY: setup build run test bench matrix clean
setup:
	@./scripts/setup.sh

build: setup $(PLAIN_OBJS) $(TECH_OBJS)

build/%.bpf.o: reference_bpf/%.bpf.c $(BPF_HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

define TECH_RULE
build/techniques/%.$(1).bpf.o: reference_bpf/techniques/%.bpf.c $$(BPF_HDRS)
	@mkdir -p $$(dir $$@)
	$$(CLANG) $$(BPF_CFLAGS) -DDNS_LOOP_TECHNIQUE=DNS_LOOP_$(shell echo $(1) | tr a-z A-Z) -c $$< -o $$@
endef
$(foreach t,$(TECHNIQUES),$(eval $(call TECH_RULE,$(t))))

run: build
	$(VENV)/bin/fqdnkit check

test: build
	$(VENV)/bin/python -m pytest -q -ra

bench: build
	$(VENV)/bin/fqdnkit bench

matrix: build
	$(VENV)/bin/fqdnkit capture --kernel all

clean:
	rm -rf build
