"""How many of onnx's own operator test cases shendu's ONNX importer passes.

    PYTHONPATH=src python benchmarks/onnx_node_tests.py [--failures] [--op Conv]

The cases come from ``onnx.backend.test.case.node`` (generated in memory; the onnx wheel ships no
data files). A case runs when every op it uses is registered in ``shendu.onnx._ops`` for its opset.
"""
import argparse
import time

from shendu.onnx._node_tests import collect_cases, run_all


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--failures", action="store_true", help="list every failing case and why")
    parser.add_argument("--op", help="only cases whose name starts with test_<op> (lower case)")
    args = parser.parse_args()
    start = time.perf_counter()
    cases = collect_cases()
    if args.op:
        cases = [c for c in cases if c.name.startswith(f"test_{args.op.lower()}")]
    results, skipped = run_all(cases)
    passed = sum(why is None for why in results.values())
    wall = time.perf_counter() - start
    print(f"onnx node tests: {passed}/{len(results)} runnable cases pass "
          f"({len(skipped)} of {len(cases)} cases skipped: an op not registered, or non-tensor data); "
          f"{wall:.1f} s")
    if args.failures:
        for name, why in sorted(results.items()):
            if why is not None:
                print(f"  {name}: {why}")


if __name__ == "__main__":
    main()
