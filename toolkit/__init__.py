"""fqdnkit: an eBPF verifier-debugging toolkit with an in-kernel FQDN egress enforcer.

Layers (imports only go downwards):
  model  <-  logparse  <-  analysis  <-  report / tui  <-  cli
  model  <-  elf, loader (libbpf through ctypes), testrun
"""
__version__ = "0.1.0"
