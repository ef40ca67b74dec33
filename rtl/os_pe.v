`timescale 1ns/1ps
// os_pe: one processing element of the output-stationary array.
//
// Registers: a (passed right) with its valid bit a_v, b (passed down) with b_v, the
// accumulator acc with acc_v (acc holds at least one valid product). Each cycle:
//   compute (drain = 0): a <= a_in, b <= b_in, acc <= policy(acc' + a_in * b_in),
//                        where acc' = 0 in the first cycle of a fold (start = 1);
//   drain   (drain = 1): a <= a_in, b <= b_in, acc <= acc_in (the PE above; 0 at row 0).
// The product uses the operands being loaded this cycle, so PE (i, j) multiplies
// A[m, k] * B[k, n] at cycle k + i + j of the fold (refquant.sim.SystolicArray, "os").
module os_pe #(
    parameter A_W      = 8,
    parameter B_W      = 8,
    parameter ACC_W    = 32,
    parameter SIGNED   = 1,
    parameter SATURATE = 0
) (
    input  wire             clk,
    input  wire             rst,
    input  wire             start,
    input  wire             drain,
    input  wire [A_W-1:0]   a_in,
    input  wire             a_vin,
    input  wire [B_W-1:0]   b_in,
    input  wire             b_vin,
    input  wire [ACC_W-1:0] acc_in,
    input  wire             acc_vin,
    output reg  [A_W-1:0]   a,
    output reg              a_v,
    output reg  [B_W-1:0]   b,
    output reg              b_v,
    output reg  [ACC_W-1:0] acc,
    output reg              acc_v
);
    wire [ACC_W-1:0] acc_old = start ? {ACC_W{1'b0}} : acc;
    wire [ACC_W-1:0] sum;

    mac #(.A_W(A_W), .B_W(B_W), .ACC_W(ACC_W), .SIGNED(SIGNED), .SATURATE(SATURATE))
        u_mac (.a(a_in), .b(b_in), .c(acc_old), .y(sum));

    always @(posedge clk) begin
        if (rst) begin
            a <= {A_W{1'b0}};  a_v <= 1'b0;
            b <= {B_W{1'b0}};  b_v <= 1'b0;
            acc <= {ACC_W{1'b0}};  acc_v <= 1'b0;
        end else begin
            a <= a_in;  a_v <= a_vin;
            b <= b_in;  b_v <= b_vin;
            if (drain) begin
                acc <= acc_in;
                acc_v <= acc_vin;
            end else begin
                acc <= sum;
                acc_v <= (acc_v & ~start) | (a_vin & b_vin);
            end
        end
    end
endmodule
