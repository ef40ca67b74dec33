"""The documented mutations of the reference RTL: each is a bug a bench must report.
name -> (what the bug is, [(file, text, replacement)], the bench that must catch it)."""

MUTATIONS = {
    "acc_one_bit_narrower": (
        "the accumulator wraps / saturates at ACC_W - 1 bits",
        [("mac.v", "localparam R_W = ACC_W;", "localparam R_W = ACC_W - 1;")], "os_wrap"),
    "saturation_removed": (
        "SATURATE accumulates with wrap-around",
        [("mac.v", "wire signed [ACC_W-1:0] result  = SATURATE ? saturated : wrapped;",
          "wire signed [ACC_W-1:0] result  = wrapped;")], "os_saturate"),
    "operands_zero_extended": (
        "signed operands are extended with zeros (read as unsigned)",
        [("mac.v", "wire signed [A_W:0] ax = SIGNED ? {a[A_W-1], a} : {1'b0, a};",
          "wire signed [A_W:0] ax = {1'b0, a};")], "ws_wrap"),
    "skew_off_by_one": (
        "row i of the OS left edge is delayed i + 1 cycles instead of i",
        [("os_array.v", "skew_line #(.W(A_W + 1), .DEPTH(i))", "skew_line #(.W(A_W + 1), .DEPTH(i + 1))")],
        "os_wrap"),
    "psum_skew_off_by_one": (
        "column j of the WS partial-sum input is delayed j + 1 cycles instead of j",
        [("ws_array.v", "skew_line #(.W(ACC_W + 1), .DEPTH(j))", "skew_line #(.W(ACC_W + 1), .DEPTH(j + 1))")],
        "ws_wrap"),
    "drain_order_swapped": (
        "the OS drain moves accumulators up and outputs the top row",
        [("os_array.v",
          "wire [ACC_W-1:0] acc_src  = (i == 0) ? {ACC_W{1'b0}} : acc_q[(i-1)*C+j];",
          "wire [ACC_W-1:0] acc_src  = (i == R-1) ? {ACC_W{1'b0}} : acc_q[(i+1)*C+j];"),
         ("os_array.v", "assign out_data[j*ACC_W +: ACC_W] = acc_q[(R-1)*C+j];",
          "assign out_data[j*ACC_W +: ACC_W] = acc_q[j];")], "os_wrap"),
    "start_keeps_operands": (
        "the first cycle of a fold keeps the operands left in the array by the previous fold",
        [("os_array.v", ": (start ? {A_W{1'b0}} : a_q[i*C+j-1]);", ": a_q[i*C+j-1];")], "os_wrap"),
    "preload_not_shifted": (
        "every WS row loads the preload edge instead of the row above's weight",
        [("ws_array.v", "wire [B_W-1:0]   w_src  = (i == 0) ? w_in[j*B_W +: B_W] : w_q[(i-1)*C+j];",
          "wire [B_W-1:0]   w_src  = w_in[j*B_W +: B_W];")], "ws_wrap"),
    "rounding_shift_ties_up": (
        "the rounding right shift rounds negative ties toward +inf instead of away from zero",
        [("requant.v", "wire [31:0] thr  = (mask >> 1) + (s3_h[31] ? 32'd1 : 32'd0);",
          "wire [31:0] thr  = (mask >> 1);")], "requant"),
    "srdhm_saturation_removed": (
        "SaturatingRoundingDoublingHighMul forgets INT32_MIN * INT32_MIN",
        [("requant.v", "s2_sat <= (s1_x == 32'sh80000000) && (s1_q == 32'sh80000000);",
          "s2_sat <= 1'b0;")], "requant"),
    "fp8_ties_away": (
        "the FP8 encoder rounds ties away from zero instead of to even",
        [("fp8_encode.v", "wire        up   = guard & (sticky | kept[0]);", "wire        up   = guard;")],
        "fp8_e4m3fn"),
    "fp8_overflow_one_code_late": (
        "the FP8 encoder overflows one code above the largest",
        [("fp8_encode.v", "wire        ovf  = is_inf || (mag > MAXCODE);",
          "wire        ovf  = is_inf || (mag > MAXCODE + 1);")], "fp8_e4m3fn"),
    "e5m2_nan_payload": (
        "E5M2 NaN is encoded with every mantissa bit set instead of the quiet bit only",
        [("fp8_encode.v", "((((1 << E) - 1) << M) | (1 << (M - 1)))", "((((1 << E) - 1) << M) | ((1 << M) - 1))")],
        "fp8_e5m2"),
}
