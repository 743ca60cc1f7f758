# SPDX-License-Identifier: MulanPSL-2.0
# etmem's VM test tier as a CMake function, for any test tier to call:
#
#   etmem_add_vm_test(NAME <name>
#                     [FEATURES <feature>...]      # kernel features the test needs
#                     [KERNEL backports|idle]      # force a kernel instead of choosing by FEATURES
#                     [INIT systemd|minimal]       # default systemd
#                     [TIMEOUT <seconds>]          # guest timeout, default 300
#                     [MEM <MiB>]                  # default 1024 (with TOPOLOGY tiered: node 0's)
#                     [TOPOLOGY flat|tiered]       # tiered: node 0 = CPUs + MEM, node 1 = no CPU,
#                                                  # SLOW_MEM (default 2 x MEM), slower by HMAT
#                     [SLOW_MEM <MiB>]             # node 1's memory with TOPOLOGY tiered
#                     [LABELS <label>...]          # added to the label "vm"
#                     COMMAND <command> [<arg>...])  # run as root in the guest; generator
#                                                    # expressions such as $<TARGET_FILE:t> work
#
# Features: idle_page_tracking damon_vaddr damon_sysfs soft_dirty zram swap process_madvise
# thp memcg (see tests/vm/kernel/etmem-vm-kernel). idle_page_tracking selects the kernel built
# from Debian's source; everything else runs on Debian's bookworm-backports kernel. The guest
# sees the host's filesystem at the same paths, so build-tree binaries run unchanged; in the
# guest ETMEM_VM_FEATURES lists FEATURES, so a test can fail (not skip) when one is missing.
#
# Each test depends on a ctest fixture that prepares its kernel once (fetch or build, cached in
# $ETMEM_VM_CACHE, default /var/cache/etmem-vm). Tests are labelled "vm": `ctest -LE vm` is the
# quick host-only pass. Safe to include from any directory, any number of times.
include_guard(GLOBAL)

set(ETMEM_VM_DIR "${CMAKE_CURRENT_LIST_DIR}" CACHE INTERNAL "tests/vm")
set(ETMEM_VM_RUNNER "${CMAKE_CURRENT_LIST_DIR}/etmem-vm-run" CACHE INTERNAL "VM runner")

# The kernel kind that has every feature in the list.
function(etmem_vm_kernel_for_features out_var)
  if("idle_page_tracking" IN_LIST ARGN)
    set(${out_var} idle PARENT_SCOPE)
  else()
    set(${out_var} backports PARENT_SCOPE)
  endif()
endfunction()

# Registers (once) the fixture test that prepares a kernel kind.
function(etmem_vm_kernel_fixture kind)
  get_property(done GLOBAL PROPERTY ETMEM_VM_FIXTURE_${kind})
  if(done)
    return()
  endif()
  set_property(GLOBAL PROPERTY ETMEM_VM_FIXTURE_${kind} TRUE)
  add_test(NAME vm.kernel.${kind} COMMAND ${ETMEM_VM_DIR}/kernel/etmem-vm-kernel ${kind})
  # A cold build of the idle-tracking kernel takes minutes; a fetch, seconds.
  set_tests_properties(vm.kernel.${kind} PROPERTIES FIXTURES_SETUP etmem-vm-kernel-${kind}
                                                    LABELS vm TIMEOUT 3600 PROCESSORS 2)
endfunction()

function(etmem_add_vm_test)
  cmake_parse_arguments(PARSE_ARGV 0 VM "" "NAME;KERNEL;INIT;TIMEOUT;MEM;TOPOLOGY;SLOW_MEM"
                        "FEATURES;LABELS;COMMAND")
  if(NOT VM_NAME OR NOT VM_COMMAND)
    message(FATAL_ERROR "etmem_add_vm_test: NAME and COMMAND are required")
  endif()
  if(NOT VM_KERNEL)
    etmem_vm_kernel_for_features(VM_KERNEL ${VM_FEATURES})
  endif()
  if(NOT VM_INIT)
    set(VM_INIT systemd)
  endif()
  if(NOT VM_TIMEOUT)
    set(VM_TIMEOUT 300)
  endif()
  if(NOT VM_MEM)
    set(VM_MEM 1024)
  endif()
  set(runner_args --kernel ${VM_KERNEL} --init ${VM_INIT} --timeout ${VM_TIMEOUT} --mem ${VM_MEM})
  if(VM_TOPOLOGY)
    list(APPEND runner_args --topology ${VM_TOPOLOGY})
  endif()
  if(VM_SLOW_MEM)
    list(APPEND runner_args --slow-mem ${VM_SLOW_MEM})
  endif()
  if(VM_FEATURES)
    list(JOIN VM_FEATURES "," feature_list)
    list(APPEND runner_args --features ${feature_list})
  endif()
  set(labels vm ${VM_LABELS})
  etmem_vm_kernel_fixture(${VM_KERNEL})
  add_test(NAME ${VM_NAME} COMMAND ${ETMEM_VM_RUNNER} ${runner_args} -- ${VM_COMMAND})
  math(EXPR ctest_timeout "${VM_TIMEOUT} + 60")
  # PROCESSORS 2: a TCG guest keeps both cores busy; two at once only slow each other down.
  set_tests_properties(
    ${VM_NAME} PROPERTIES LABELS "${labels}" TIMEOUT ${ctest_timeout} PROCESSORS 2
                          FIXTURES_REQUIRED etmem-vm-kernel-${VM_KERNEL})
endfunction()
