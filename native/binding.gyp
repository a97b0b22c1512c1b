{
  "variables": {
    # which system BLAS the addon links besides the project's own sgemm: openblas, accelerate or own
    # (none); scripts/build-native.mjs passes --poisonlab_blas=... after looking for one
    "poisonlab_blas%": "own"
  },
  "targets": [
    {
      "target_name": "poisonlab_native",
      "sources": [
        "src/addon.c",
        "src/conv_ops.c",
        "src/conv_direct.c",
        "src/two_layer.c",
        "src/gemm/select.c",
        "src/gemm/own_sgemm.c",
        "src/gemm/micro_portable.c",
        "src/gemm/micro_avx2.c",
        "src/gemm/micro_avx512.c"
      ],
      "conditions": [
        ["OS!='mac'", {
          # no -march: the AVX2 and AVX-512 micro-kernels carry target attributes and run only after a CPU check
          "cflags": ["-fopenmp", "-O3", "-fno-strict-aliasing", "-std=c11", "-fno-tree-loop-distribute-patterns", "-ffp-contract=fast", "-Wno-psabi"],
          "ldflags": ["-fopenmp"]
        }],
        ["poisonlab_blas=='openblas'", {
          "defines": ["POISONLAB_OPENBLAS"],
          "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/aarch64-linux-gnu", "/usr/include/openblas"],
          "libraries": ["-lopenblas"]
        }],
        ["poisonlab_blas=='accelerate'", {
          # macOS only (scripts/build-native.mjs picks it there); not built on this project's Linux machines
          "defines": ["POISONLAB_ACCELERATE", "ACCELERATE_NEW_LAPACK"],
          "link_settings": {"libraries": ["$(SDKROOT)/System/Library/Frameworks/Accelerate.framework"]}
        }],
        ["OS=='mac'", {
          # Apple's clang has no OpenMP: the pragmas are ignored and the loops run on one thread
          "xcode_settings": {
            "GCC_C_LANGUAGE_STANDARD": "c11",
            "OTHER_CFLAGS": ["-O3", "-fno-strict-aliasing", "-ffp-contract=fast"]
          }
        }]
      ]
    }
  ]
}
