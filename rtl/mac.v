`timescale 1ns/1ps
// mac: the arithmetic of one processing element, combinational.
//
//   y = policy(c + a * b)
//
// a (A_W bits) and b (B_W bits) are two's-complement when SIGNED = 1, unsigned when
// SIGNED = 0; c and y are ACC_W-bit two's-complement accumulators. The product and the
// sum are formed exactly (wide enough never to overflow), then the policy applies:
//   SATURATE = 0 (WRAP):     keep the low ACC_W bits (two's complement wrap-around);
//   SATURATE = 1 (SATURATE): clamp to [-2^(ACC_W-1), 2^(ACC_W-1) - 1].
// This is the accumulation rule of refquant.sim.SystolicArray and refquant.intops.gemm
// (the policy applies at every addition).
module mac #(
    parameter A_W      = 8,
    parameter B_W      = 8,
    parameter ACC_W    = 32,
    parameter SIGNED   = 1,
    parameter SATURATE = 0
) (
    input  wire [A_W-1:0]   a,
    input  wire [B_W-1:0]   b,
    input  wire [ACC_W-1:0] c,
    output wire [ACC_W-1:0] y
);
    localparam P_W = A_W + B_W + 2;                    // exact product of the extended operands
    localparam S_W = (P_W > ACC_W ? P_W : ACC_W) + 1;  // exact sum
    localparam R_W = ACC_W;                            // width of the accumulator's range

    // operands extended by one bit: sign bit (SIGNED) or a zero (unsigned)
    wire signed [A_W:0] ax = SIGNED ? {a[A_W-1], a} : {1'b0, a};
    wire signed [B_W:0] bx = SIGNED ? {b[B_W-1], b} : {1'b0, b};
    wire signed [P_W-1:0] p = ax * bx;
    wire signed [S_W-1:0] s = $signed(c) + p;

    // largest and smallest accumulator values, S_W bits wide
    wire signed [S_W-1:0] hi = {{(S_W-R_W+1){1'b0}}, {(R_W-1){1'b1}}};
    wire signed [S_W-1:0] lo = {{(S_W-R_W+1){1'b1}}, {(R_W-1){1'b0}}};

    wire signed [R_W-1:0] wrapped   = s[R_W-1:0];
    wire signed [R_W-1:0] saturated = (s > hi) ? hi[R_W-1:0] : (s < lo) ? lo[R_W-1:0] : s[R_W-1:0];
    wire signed [ACC_W-1:0] result  = SATURATE ? saturated : wrapped;
    assign y = result;
endmodule
