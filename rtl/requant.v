`timescale 1ns/1ps
// requant: gemmlowp / TFLite requantization of an int32 accumulator to OUT_W bits,
// pipelined (LATENCY = 4 cycles from in_valid to out_valid, one result per cycle).
//
//   y   = MultiplyByQuantizedMultiplier(acc, q, shift)            (TFLite, double rounding)
//       = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(acc << ls, q), rs),
//         ls = max(shift, 0), rs = max(-shift, 0), the left shift wrapping in 32 bits;
//   out = clamp(y + zero_point, QMIN, QMAX)                        (exact, no wrap)
//
// SRDHM(x, q) = (x*q + nudge) / 2^31 truncated toward zero, nudge = 2^30 if x*q >= 0 else
// 1 - 2^30 (ties toward +inf); x = q = -2^31 gives 2^31 - 1. RDBPOT(h, rs) rounds
// h / 2^rs to nearest, ties away from zero: (h >>> rs) + (rem > (mask >> 1) + (h < 0)).
// The same arithmetic as refquant.intops.multiply_by_quantized_multiplier; shift is a
// 6-bit two's-complement value in -31 .. 31.
//
// Stages: 1 left shift; 2 product + nudge; 3 high half (truncating) ; 4 rounding
// shift, zero point and clamp.
module requant #(
    parameter OUT_W = 8,
    parameter QMIN  = -128,
    parameter QMAX  = 127
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             in_valid,
    input  wire [31:0]      acc,
    input  wire [31:0]      q,
    input  wire [5:0]       shift,
    input  wire [31:0]      zero_point,
    output reg              out_valid,
    output reg  [OUT_W-1:0] out
);
    localparam signed [63:0] NUDGE_POS = 64'sd1073741824;    //  2^30
    localparam signed [63:0] NUDGE_NEG = -64'sd1073741823;   //  1 - 2^30

    // ---- stage 1: x << ls (wraps in 32 bits), right-shift amount
    wire signed [5:0] sh = shift;
    wire [4:0] ls = sh[5] ? 5'd0 : sh[4:0];
    wire [5:0] rs_in = sh[5] ? -sh : 6'd0;
    reg  signed [31:0] s1_x, s1_q, s1_zp;
    reg  [5:0] s1_rs;
    reg  s1_v;
    always @(posedge clk) begin
        if (rst) s1_v <= 1'b0;
        else begin
            s1_v  <= in_valid;
            s1_x  <= acc << ls;
            s1_q  <= q;
            s1_rs <= rs_in;
            s1_zp <= zero_point;
        end
    end

    // ---- stage 2: x * q + nudge (exact in 64 bits), the one saturating case
    wire signed [63:0] ab = s1_x * s1_q;
    reg  signed [63:0] s2_t;
    reg  s2_sat, s2_v;
    reg  [5:0] s2_rs;
    reg  signed [31:0] s2_zp;
    always @(posedge clk) begin
        if (rst) s2_v <= 1'b0;
        else begin
            s2_v   <= s1_v;
            s2_t   <= ab + (ab[63] ? NUDGE_NEG : NUDGE_POS);
            s2_sat <= (s1_x == 32'sh80000000) && (s1_q == 32'sh80000000);
            s2_rs  <= s1_rs;
            s2_zp  <= s1_zp;
        end
    end

    // ---- stage 3: high half, truncating division by 2^31
    wire [63:0] t_mag = s2_t[63] ? -s2_t : s2_t;
    wire [63:0] h_mag = t_mag >> 31;
    wire signed [31:0] h = s2_sat ? 32'sh7fffffff : (s2_t[63] ? -h_mag[31:0] : h_mag[31:0]);
    reg  signed [31:0] s3_h, s3_zp;
    reg  [5:0] s3_rs;
    reg  s3_v;
    always @(posedge clk) begin
        if (rst) s3_v <= 1'b0;
        else begin
            s3_v  <= s2_v;
            s3_h  <= h;
            s3_rs <= s2_rs;
            s3_zp <= s2_zp;
        end
    end

    // ---- stage 4: rounding divide by 2^rs (ties away from zero), zero point, clamp
    wire [31:0] mask = (32'd1 << s3_rs) - 32'd1;
    wire [31:0] rem  = s3_h & mask;
    wire [31:0] thr  = (mask >> 1) + (s3_h[31] ? 32'd1 : 32'd0);
    wire signed [31:0] y = (s3_h >>> s3_rs) + ((rem > thr) ? 32'sd1 : 32'sd0);
    wire signed [33:0] z = y + s3_zp;                       // exact: no wrap
    wire signed [33:0] qmin = QMIN;
    wire signed [33:0] qmax = QMAX;
    wire signed [33:0] clamped = (z < qmin) ? qmin : (z > qmax) ? qmax : z;
    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            out <= {OUT_W{1'b0}};
        end else begin
            out_valid <= s3_v;
            out <= clamped[OUT_W-1:0];
        end
    end
endmodule
