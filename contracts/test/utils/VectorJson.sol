// SPDX-License-Identifier: MIT OR Apache-2.0
pragma solidity 0.8.29;

import {Vm} from "./Vm.sol";
import {OneStepVerifier} from "../../src/OneStepVerifier.sol";

/// @notice Maps the shared test-vector JSON (docs/semantics.md section 7) onto OneStepVerifier's
/// op codes and attrs layouts.
library VectorJson {
    Vm internal constant vm = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));

    function opCode(string memory op) internal pure returns (uint8) {
        bytes32 h = keccak256(bytes(op));
        if (h == keccak256("Linear")) return OneStepVerifier.OP_LINEAR;
        if (h == keccak256("Conv")) return OneStepVerifier.OP_CONV;
        if (h == keccak256("MatMul")) return OneStepVerifier.OP_MATMUL;
        if (h == keccak256("Add")) return OneStepVerifier.OP_ADD;
        if (h == keccak256("Sub")) return OneStepVerifier.OP_SUB;
        if (h == keccak256("Mul")) return OneStepVerifier.OP_MUL;
        if (h == keccak256("Rescale")) return OneStepVerifier.OP_RESCALE;
        if (h == keccak256("Relu")) return OneStepVerifier.OP_RELU;
        if (h == keccak256("Clip")) return OneStepVerifier.OP_CLIP;
        if (h == keccak256("LeakyRelu")) return OneStepVerifier.OP_LEAKY_RELU;
        if (h == keccak256("Lut")) return OneStepVerifier.OP_LUT;
        if (h == keccak256("Softmax")) return OneStepVerifier.OP_SOFTMAX;
        if (h == keccak256("ArgMax")) return OneStepVerifier.OP_ARGMAX;
        if (h == keccak256("MaxPool")) return OneStepVerifier.OP_MAXPOOL;
        if (h == keccak256("AveragePool")) return OneStepVerifier.OP_AVGPOOL;
        if (h == keccak256("GlobalAveragePool")) return OneStepVerifier.OP_GLOBAL_AVGPOOL;
        if (
            h == keccak256("Reshape") || h == keccak256("Flatten") || h == keccak256("Squeeze")
                || h == keccak256("Unsqueeze") || h == keccak256("Identity")
        ) return OneStepVerifier.OP_COPY;
        if (h == keccak256("Transpose")) return OneStepVerifier.OP_TRANSPOSE;
        if (h == keccak256("Concat")) return OneStepVerifier.OP_CONCAT;
        if (h == keccak256("Pad")) return OneStepVerifier.OP_PAD;
        if (h == keccak256("Reduce")) return OneStepVerifier.OP_REDUCE;
        if (h == keccak256("Max")) return OneStepVerifier.OP_MAX;
        if (h == keccak256("Min")) return OneStepVerifier.OP_MIN;
        if (h == keccak256("PRelu")) return OneStepVerifier.OP_PRELU;
        if (h == keccak256("Select")) return OneStepVerifier.OP_SELECT;
        if (h == keccak256("Gather")) return OneStepVerifier.OP_GATHER;
        if (h == keccak256("TreeEnsemble")) return OneStepVerifier.OP_TREE;
        revert(string.concat("unknown op ", op));
    }

    function _int(string memory json, string memory base, string memory key, int256 dflt)
        private
        view
        returns (int256)
    {
        string memory k = string.concat(base, ".", key);
        if (!vm.keyExistsJson(json, k)) return dflt;
        return vm.parseJsonInt(json, k);
    }

    function _bool(string memory json, string memory base, string memory key) private view returns (int256) {
        string memory k = string.concat(base, ".", key);
        if (!vm.keyExistsJson(json, k)) return 0;
        return vm.parseJsonBool(json, k) ? int256(1) : int256(0);
    }

    function _arr(string memory json, string memory base, string memory key) private view returns (int256[] memory) {
        string memory k = string.concat(base, ".", key);
        if (!vm.keyExistsJson(json, k)) return new int256[](0);
        return vm.parseJsonIntArray(json, k);
    }

    /// attrs layout of OneStepVerifier for the case's `attrs` object at `base` (".cases[i].attrs").
    function attrs(string memory json, string memory base, uint8 op) internal view returns (int256[] memory a) {
        if (op == OneStepVerifier.OP_LINEAR || op == OneStepVerifier.OP_MATMUL) {
            a = new int256[](5);
            _requant(json, base, a, 0);
            a[4] = _bool(json, base, "wide");
        } else if (op == OneStepVerifier.OP_CONV) {
            a = new int256[](16);
            _requant(json, base, a, 0);
            a[4] = _bool(json, base, "wide");
            a[5] = _int(json, base, "group", 1);
            _window(json, base, a, 6);
        } else if (op == OneStepVerifier.OP_ADD || op == OneStepVerifier.OP_SUB) {
            a = new int256[](6);
            a[0] = _int(json, base, "Ma", 0);
            a[1] = _int(json, base, "Mb", 0);
            _requant(json, base, a, 2);
        } else if (
            op == OneStepVerifier.OP_MUL || op == OneStepVerifier.OP_RESCALE || op == OneStepVerifier.OP_LEAKY_RELU
                || op == OneStepVerifier.OP_PRELU
        ) {
            a = new int256[](4);
            _requant(json, base, a, 0);
        } else if (op == OneStepVerifier.OP_CLIP) {
            a = new int256[](2);
            a[0] = _int(json, base, "lo", -128);
            a[1] = _int(json, base, "hi", 127);
        } else if (op == OneStepVerifier.OP_SOFTMAX) {
            a = new int256[](5);
            a[0] = _int(json, base, "axis", -1);
            a[1] = _int(json, base, "M", 1);
            a[2] = _int(json, base, "s", 0);
            a[3] = _int(json, base, "lo", 0);
            a[4] = _int(json, base, "hi", 255);
        } else if (op == OneStepVerifier.OP_CONCAT || op == OneStepVerifier.OP_GATHER) {
            a = new int256[](1);
            a[0] = _int(json, base, "axis", -1);
        } else if (op == OneStepVerifier.OP_ARGMAX) {
            a = new int256[](3);
            a[0] = _int(json, base, "axis", 0);
            a[1] = _bool(json, base, "keepdims");
            a[2] = _bool(json, base, "select_last_index");
        } else if (op == OneStepVerifier.OP_MAXPOOL || op == OneStepVerifier.OP_AVGPOOL) {
            a = new int256[](11);
            _window(json, base, a, 0);
            a[10] = _bool(json, base, "count_include_pad");
        } else if (op == OneStepVerifier.OP_TRANSPOSE) {
            a = _arr(json, base, "perm");
        } else if (op == OneStepVerifier.OP_PAD) {
            a = _pad(json, base);
        } else if (op == OneStepVerifier.OP_REDUCE) {
            a = _reduce(json, base);
        } else if (op == OneStepVerifier.OP_SELECT) {
            a = _concat(_arr(json, base, "lens"), _arr(json, base, "maps"));
        } else if (op == OneStepVerifier.OP_TREE) {
            a = new int256[](1);
            bytes32 g = keccak256(bytes(vm.parseJsonString(json, string.concat(base, ".aggregate"))));
            a[0] = g == keccak256("SUM") ? int256(0) : (g == keccak256("MIN") ? int256(1) : int256(2));
        } else {
            a = new int256[](0);
        }
    }

    /// [mode, value, pads..] from mode ("constant", "reflect", "edge", "wrap"), value and pads
    /// ([begin_0.., end_0..]).
    function _pad(string memory json, string memory base) private view returns (int256[] memory a) {
        int256[] memory p = _arr(json, base, "pads");
        a = new int256[](2 + p.length);
        bytes32 m = keccak256(bytes(vm.parseJsonString(json, string.concat(base, ".mode"))));
        if (m == keccak256("constant")) a[0] = 0;
        else if (m == keccak256("reflect")) a[0] = 1;
        else if (m == keccak256("edge")) a[0] = 2;
        else if (m == keccak256("wrap")) a[0] = 3;
        else revert("unknown pad mode");
        a[1] = _int(json, base, "value", 0);
        for (uint256 i; i < p.length; ++i) {
            a[2 + i] = p[i];
        }
    }

    function _concat(int256[] memory x, int256[] memory y) private pure returns (int256[] memory a) {
        a = new int256[](x.length + y.length);
        for (uint256 i; i < x.length; ++i) {
            a[i] = x[i];
        }
        for (uint256 i; i < y.length; ++i) {
            a[x.length + i] = y[i];
        }
    }

    /// [mode, M, s, lo, hi, axes..] from mode ("sum", "mean", "max", "min"), the requant and axes.
    function _reduce(string memory json, string memory base) private view returns (int256[] memory a) {
        int256[] memory ax = _arr(json, base, "axes");
        a = new int256[](5 + ax.length);
        bytes32 m = keccak256(bytes(vm.parseJsonString(json, string.concat(base, ".mode"))));
        if (m == keccak256("sum")) a[0] = 0;
        else if (m == keccak256("mean")) a[0] = 1;
        else if (m == keccak256("max")) a[0] = 2;
        else if (m == keccak256("min")) a[0] = 3;
        else revert("unknown reduce mode");
        _requant(json, base, a, 1);
        for (uint256 i; i < ax.length; ++i) {
            a[5 + i] = ax[i];
        }
    }

    function _requant(string memory json, string memory base, int256[] memory a, uint256 at) private view {
        a[at] = _int(json, base, "M", 1);
        a[at + 1] = _int(json, base, "s", 0);
        a[at + 2] = _int(json, base, "lo", -128);
        a[at + 3] = _int(json, base, "hi", 127);
    }

    /// [kH, kW, sH, sW, dH, dW, pT, pL, pB, pR] from kernel/strides/dilations/pads (1-D: H = 1).
    function _window(string memory json, string memory base, int256[] memory a, uint256 at) private view {
        int256[] memory k = _arr(json, base, "kernel");
        int256[] memory s = _arr(json, base, "strides");
        int256[] memory dl = _arr(json, base, "dilations");
        int256[] memory p = _arr(json, base, "pads");
        bool oneD = k.length == 1;
        a[at] = oneD ? int256(1) : k[0];
        a[at + 1] = oneD ? k[0] : k[1];
        a[at + 2] = s.length == 0 || oneD ? int256(1) : s[0];
        a[at + 3] = s.length == 0 ? int256(1) : (oneD ? s[0] : s[1]);
        a[at + 4] = dl.length == 0 || oneD ? int256(1) : dl[0];
        a[at + 5] = dl.length == 0 ? int256(1) : (oneD ? dl[0] : dl[1]);
        if (p.length == 4) {
            (a[at + 6], a[at + 7], a[at + 8], a[at + 9]) = (p[0], p[1], p[2], p[3]);
        } else if (p.length == 2) {
            (a[at + 7], a[at + 9]) = (p[0], p[1]);
        }
    }

    function tensor(string memory json, string memory base) internal pure returns (OneStepVerifier.Tensor memory t) {
        t.shape = vm.parseJsonUintArray(json, string.concat(base, ".shape"));
        t.data = vm.parseJsonIntArray(json, string.concat(base, ".data"));
    }

    function tensors(string memory json, string memory base)
        internal
        view
        returns (OneStepVerifier.Tensor[] memory ts)
    {
        uint256 n;
        while (vm.keyExistsJson(json, string.concat(base, "[", vm.toString(n), "]"))) ++n;
        ts = new OneStepVerifier.Tensor[](n);
        for (uint256 i; i < n; ++i) {
            ts[i] = tensor(json, string.concat(base, "[", vm.toString(i), "]"));
        }
    }
}
