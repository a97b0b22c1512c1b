{
  "targets": [
    {
      "target_name": "poisonlab_native",
      "sources": ["src/addon.c", "src/conv_ops.c", "src/conv_direct.c", "src/two_layer.c"],
      "include_dirs": ["/usr/include/x86_64-linux-gnu", "/usr/include/openblas"],
      "libraries": ["-lopenblas"],
      "ldflags": ["-fopenmp"],
      "cflags": ["-fopenmp", "-O3", "-fno-strict-aliasing", "-std=c11", "-fno-tree-loop-distribute-patterns", "-ffp-contract=fast", "-Wno-psabi"]
    }
  ]
}
