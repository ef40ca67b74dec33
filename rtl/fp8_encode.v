`timescale 1ns/1ps
// fp8_encode: float32 -> OCP FP8 (E4M3FN with E=4, M=3, FN=1; E5M2 with E=5, M=2, FN=0),
// round to nearest, ties to even; one register stage (LATENCY = 1).
//
// Follows refquant.format("e4m3fn" / "e5m2").encode(x, overflow=...):
//   NaN            -> NaN with x's sign (E4M3FN s.1111.111, E5M2 s.11111.10);
//   finite x       -> the nearest code, ties to the even code (subnormals included;
//                     float32 subnormals and tiny values become a signed zero);
//   overflow       -> a finite x overflows when its rounded code passes the largest
//                     (E4M3FN 0x7E = 448, E5M2 0x7B = 57344), the grid continued with
//                     the top binade's spacing (464 is a tie and stays 448);
//                     sat = 1 (saturating, Overflow.SATURATE): +-max;
//                     sat = 0 (non-saturating): E4M3FN NaN (Overflow.NAN), E5M2 +-inf
//                     (Overflow.INF);
//   +-inf          -> sat = 1: +-max; sat = 0: as an overflow.
module fp8_encode #(
    parameter E  = 4,
    parameter M  = 3,
    parameter FN = 1
) (
    input  wire        clk,
    input  wire        rst,
    input  wire        in_valid,
    input  wire        sat,
    input  wire [31:0] x,
    output reg         out_valid,
    output reg  [7:0]  out
);
    localparam BIAS    = (1 << (E - 1)) - 1;
    localparam MAXCODE = FN ? 8'h7E : ((((1 << E) - 2) << M) | ((1 << M) - 1));
    localparam NANCODE = FN ? 8'h7F : ((((1 << E) - 1) << M) | (1 << (M - 1)));
    localparam INFCODE = ((1 << E) - 1) << M;

    wire        s  = x[31];
    wire [7:0]  ex = x[30:23];
    wire [22:0] mx = x[22:0];
    wire is_nan = (ex == 8'hFF) && (mx != 0);
    wire is_inf = (ex == 8'hFF) && (mx == 0);

    // x = sig * 2^(ue - 23), sig = {implicit bit, mantissa}
    wire [23:0] sig = {ex != 8'd0, mx};
    wire signed [9:0] ue = (ex == 8'd0) ? -10'sd126 : $signed({2'b00, ex}) - 10'sd127;
    wire normal = ue >= (1 - BIAS);

    // bits of sig below the kept ones: 23 - M for normals, more for subnormals
    wire signed [10:0] sh_sub = (23 - M) + (1 - BIAS) - ue;
    wire [5:0] shift = normal ? (23 - M) : ((sh_sub > 26) ? 6'd26 : sh_sub[5:0]);
    wire [31:0] sig32  = {8'd0, sig};                        // index shift - 1 <= 25 stays inside
    wire [31:0] kept   = sig32 >> shift;
    wire        guard  = sig32[shift - 1];
    wire [31:0] below  = sig32 & ((32'd1 << (shift - 1)) - 32'd1);
    wire        sticky = (shift > 1) && (below != 0);

    // code magnitude before rounding (the exponent field may exceed its width: overflow)
    wire signed [10:0] et = ue + BIAS;                        // biased exponent, >= 1 when normal
    wire [15:0] et16 = et[9:0];
    wire [15:0] base = normal ? ((et16 << M) | (kept[15:0] & ((16'd1 << M) - 16'd1))) : kept[15:0];
    wire        up   = guard & (sticky | kept[0]);          // ties to even
    wire [15:0] mag  = base + up;                            // a carry moves into the exponent
    wire        ovf  = is_inf || (mag > MAXCODE);

    wire [6:0] nonsat = FN ? NANCODE[6:0] : INFCODE[6:0];
    wire [7:0] code = is_nan ? {s, NANCODE[6:0]}
                    : ovf    ? {s, (sat ? MAXCODE[6:0] : nonsat)}
                    :          {s, mag[6:0]};

    always @(posedge clk) begin
        if (rst) begin
            out_valid <= 1'b0;
            out <= 8'd0;
        end else begin
            out_valid <= in_valid;
            out <= code;
        end
    end
endmodule
