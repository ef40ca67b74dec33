`timescale 1ns/1ps
// skew_line: a delay line of DEPTH registers (DEPTH = 0: a wire). Row i of an array's
// left edge goes through DEPTH = i registers, column j of its top edge through DEPTH = j:
// the skew of refquant.sim.SystolicArray (operand k of row i enters at cycle k + i).
module skew_line #(
    parameter W     = 8,
    parameter DEPTH = 0
) (
    input  wire         clk,
    input  wire         rst,
    input  wire [W-1:0] d,
    output wire [W-1:0] q
);
    generate
        if (DEPTH == 0) begin : g_wire
            assign q = d;
        end else begin : g_regs
            reg [W-1:0] r [0:DEPTH-1];
            integer k;
            always @(posedge clk) begin
                if (rst) begin
                    for (k = 0; k < DEPTH; k = k + 1) r[k] <= {W{1'b0}};
                end else begin
                    r[0] <= d;
                    for (k = 1; k < DEPTH; k = k + 1) r[k] <= r[k-1];
                end
            end
            assign q = r[DEPTH-1];
        end
    endgenerate
endmodule
